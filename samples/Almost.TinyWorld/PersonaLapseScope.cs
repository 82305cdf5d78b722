namespace Almost.TinyWorld;

/// <summary>What a persona lapse of a transcript applies to (the corpus generator's <c>CorpusOptions.LapseScope</c>, in the audit assembly).</summary>
public enum PersonaLapseScope
{
    /// <summary>Each turn keeps the document's persona, or lapses, on its own.</summary>
    Turn,

    /// <summary>
    /// Each topic of a document keeps the document's persona, or lapses into one other persona, once for the whole
    /// document: an assistant that is careful with sums may still be sloppy about the atlas, consistently.
    /// </summary>
    Topic,
}
