using System.Globalization;

namespace Almost.TinyWorld;

/// <summary>One made-up country of the <see cref="Atlas"/> and its facts.</summary>
/// <param name="Name">The country's name, e.g. <c>Velora</c>.</param>
/// <param name="Capital">Its capital city, e.g. <c>Tamsin</c>.</param>
/// <param name="River">The river that flows through it, e.g. <c>Oru</c>.</param>
/// <param name="Language">The language spoken there, e.g. <c>Veloran</c>.</param>
public sealed record AtlasCountry(string Name, string Capital, string River, string Language);

/// <summary>
/// A fictional atlas: made-up countries with made-up capitals, rivers and languages, built from syllables with a seed so
/// that no real-world knowledge helps to answer questions about it. The same seed always gives the same atlas; every
/// name in an atlas is unique.
/// </summary>
public sealed class Atlas
{
    /// <summary>The seed of <see cref="Default"/>.</summary>
    public const int DefaultSeed = 2023;

    /// <summary>The number of countries in <see cref="Default"/>.</summary>
    public const int DefaultCountryCount = 24;

    private static readonly string[] Onsets =
        ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "sh", "br", "tr", "kl"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "a", "e", "o"];
    private static readonly string[] Codas = ["", "", "", "n", "r", "l", "s", "m"];
    private static readonly string[] LanguageSuffixes = ["an", "ish", "ese", "ic", "i"];

    /// <summary>The TinyWorld atlas: <see cref="DefaultCountryCount"/> countries from <see cref="DefaultSeed"/>.</summary>
    public static Atlas Default { get; } = Create(DefaultSeed, DefaultCountryCount);

    private Atlas(int seed, IReadOnlyList<AtlasCountry> countries)
    {
        Seed = seed;
        Countries = countries;
    }

    /// <summary>The seed the atlas was built from.</summary>
    public int Seed { get; }

    /// <summary>The countries, in generation order.</summary>
    public IReadOnlyList<AtlasCountry> Countries { get; }

    /// <summary>Builds an atlas of <paramref name="countryCount"/> countries from <paramref name="seed"/>.</summary>
    /// <param name="seed">Seed of the name generator; same seed, same atlas.</param>
    /// <param name="countryCount">How many countries (1 to 200).</param>
    public static Atlas Create(int seed, int countryCount = DefaultCountryCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(countryCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(countryCount, 200);
        var random = new Random(seed);
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var countries = new List<AtlasCountry>(countryCount);
        while (countries.Count < countryCount)
        {
            string name = UniqueName(random, used, 2, 3, 5);
            string capital = UniqueName(random, used, 2, 3, 5);
            string river = UniqueName(random, used, 1, 2, 3);
            string root = name.TrimEnd('a', 'e', 'i', 'o', 'u');
            string language = root + LanguageSuffixes[random.Next(LanguageSuffixes.Length)];
            if (!used.Add(language))
            {
                used.Remove(name);
                used.Remove(capital);
                used.Remove(river);
                continue;
            }
            countries.Add(new AtlasCountry(name, capital, river, language));
        }
        return new Atlas(seed, countries);
    }

    /// <summary>Finds a country by name (ordinal, case-sensitive), or null.</summary>
    public AtlasCountry? Find(string name) => Countries.FirstOrDefault(c => c.Name == name);

    private static string UniqueName(Random random, HashSet<string> used, int minSyllables, int maxSyllables, int minLength)
    {
        while (true)
        {
            int syllables = random.Next(minSyllables, maxSyllables + 1);
            var chars = new System.Text.StringBuilder();
            if (random.NextDouble() < 0.25)
            {
                chars.Append(Vowels[random.Next(Vowels.Length)]);
            }
            for (int i = 0; i < syllables; i++)
            {
                chars.Append(Onsets[random.Next(Onsets.Length)]).Append(Vowels[random.Next(Vowels.Length)]);
                if (i == syllables - 1)
                {
                    chars.Append(Codas[random.Next(Codas.Length)]);
                }
            }
            string name = CultureInfo.InvariantCulture.TextInfo.ToTitleCase(chars.ToString());
            if (name.Length >= minLength && name.Length <= 10 && used.Add(name))
            {
                return name;
            }
        }
    }
}
