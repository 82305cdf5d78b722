// The tokenizer-parity stress corpus: a deterministic list of strings (same code, same strings) that covers what
// tokenizers get wrong. `node corpus.js > corpus.jsonl` writes one {"text": ...} line per string.
'use strict';

// mulberry32: a tiny seeded generator, so the corpus never depends on Math.random.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('the of and to in is was he for it with as his on be at by I had not are but from or have an they ' +
  'which one you were her all she there would their we him been has when who will more no if out so said what up ' +
  'its about into than them can only other new some could time these two may then do first any my now such like our ' +
  'over man me even most made after also did many before must through back years where much your way well down ' +
  'should because each just those people Mr how too little state good very make world still own see men work long ' +
  'get here between both life being under never day same another know while last might us great old year off come ' +
  'since against go came right used take three tokenizer alignment reward model preference assistant human ' +
  'synthetic feedback Hello World HELLO Über naïve café résumé coöperate façade jalapeño São Paulo Zürich').split(' ');
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "’s", "’t", "’re"];
const PUNCT = ['.', ',', '!', '?', ';', ':', '...', '!!', '?!', ' -', ' —', ' (', ')', '"', '\'', '«', '»', '“', '”'];

const SCRIPTS = {
  cjk: '我们在这里讨论分词器的一致性问题。人工智能模型需要准确的输入。東京は日本の首都です。ひらがなとカタカナ、漢字。',
  korean: '안녕하세요 세계! 토크나이저는 중요합니다. 한국어 문장을 시험합니다. 읽고 쓰기',
  arabic: 'مرحبا بالعالم! هذه جملة باللغة العربية مع أرقام ١٢٣٤٥٦٧٨٩٠ وعلامات، ترقيم؟',
  hebrew: 'שלום עולם! זהו משפט בעברית עם ניקוד: שָׁלוֹם.',
  hindi: 'नमस्ते दुनिया! यह हिंदी में एक वाक्य है। संख्याएँ: १२३४५६७८९०',
  bengali: 'হ্যালো বিশ্ব! এটি একটি বাংলা বাক্য। ১২৩৪৫',
  tamil: 'வணக்கம் உலகம்! இது ஒரு தமிழ் வாக்கியம்.',
  thai: 'สวัสดีชาวโลก นี่คือประโยคภาษาไทย ๑๒๓๔๕',
  russian: 'Привет, мир! Это предложение на русском языке. Ёжик в тумане.',
  greek: 'Γεια σου κόσμε! Αυτή είναι μια ελληνική πρόταση. ΑΒΓΔ αβγδ ς',
  vietnamese: 'Xin chào thế giới! Tiếng Việt có nhiều dấu: ắ ằ ẳ ẵ ặ ố ồ ổ ỗ ộ.',
  georgian: 'გამარჯობა მსოფლიო! ქართული წინადადება.',
  armenian: 'Բարեւ աշխարհ! Հայերեն նախադասություն։',
  amharic: 'ሰላም ልዑል! ይህ የአማርኛ ዓረፍተ ነገር ነው።',
};

// Characters outside the Basic Multilingual Plane, grouped by what the pre-tokenizer's \p{L} / \p{N} must say.
const ASTRAL = {
  mathLetters: '𝐀𝐁𝐂𝐚𝐛𝐜 𝑥𝑦𝑧 𝔄𝔅ℭ 𝕬𝕭 𝒜𝒞𝒟 𝖆𝖇𝖈 𝚊𝚋𝚌 𝛂𝛃𝛄',
  mathDigits: '𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗 𝟘𝟙𝟚 𝟢𝟣𝟤 𝟬𝟭𝟮 𝟶𝟷𝟸',
  historicLetters: '𐌰𐌱𐌲𐌳 𐎠𐎡𐎢 𐐀𐐁𐐨𐐩 𒀀𒀁𒀂 𓀀𓀁𓂀 𐤀𐤁𐤂 𐰀𐰁',
  historicDigits: '𐒠𐒡𐒢𐒣 𑁦𑁧𑁨 𞥐𞥑𞥒 𑃰𑃱𑃲 𐄇𐄈𐄉 𒐀𒐁 𐩀𐩁',
  cjkExt: '𠀀𠀁𠀂𪜀𫝀 𡃁𢀀 𣎴𤆬',
  emoji: '😀😃😄😁 🎉🚀🔥💯 🤖🧠 🦄🐉 🍕🍣',
  marks: '𝅘𝅥𝅮 𝄞𝄢 🀄🃏 🂡🂢',
};

const EMOJI_SEQUENCES = [
  '👨‍👩‍👧‍👦', '👩🏽‍💻', '🧑🏿‍🚀', '🏳️‍🌈', '🏴‍☠️', '❤️‍🔥', '👍🏻👍🏼👍🏽👍🏾👍🏿', '🇫🇷🇯🇵🇺🇸🇩🇪', '1️⃣2️⃣#️⃣',
  '☺️☺︎', '✌🏾', '🫠🫶🏻', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '👁️‍🗨️', '🐻‍❄️', '🧔‍♀️',
];

const CODE = [
  'def add(a, b):\n    return a + b\n',
  'for (int i = 0; i < n; i++) {\n\tsum += xs[i];\n}\n',
  'public sealed class Foo : IDisposable\r\n{\r\n    private readonly int _x = 42;\r\n}\r\n',
  'const f = async (x) => { await g(x ?? 0); return `${x}px`; };',
  '{"key": "value", "n": 12345, "list": [1, 2, 3], "nested": {"a": null}}',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 0x7fffffff); return 0; }',
  '    if x:\n        pass\n    else:\n        raise ValueError("bad")\n\n\n',
  'x = [i**2 for i in range(100) if i % 3 == 0]  # squares',
  '<div class="a"><p>Hello &amp; goodbye</p></div>',
  'fn main() -> Result<(), Box<dyn Error>> { let v: Vec<u8> = vec![]; Ok(()) }',
  '$ git commit -m "fix: tokenizer" && echo $? > /dev/null 2>&1',
  'a==b!=c<=d>=e&&f||g<<h>>i+=j-=k*=l/=m%=n',
  '\t\t\t// comment with trailing spaces   \n\t}\n',
  '@@ -1,4 +1,5 @@\n-old line\n+new line\n context\n',
];

const URLS = [
  'https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/tokenizer.json',
  'http://example.com/path?query=1&other=two#fragment',
  'ftp://files.example.org/pub/file-1.2.3.tar.gz',
  'mailto:someone@example.com', 'user.name+tag@sub.domain.co.uk',
  'www.example.com/a/b/c/index.html?x=%20%E2%9C%93', 'https://例子.测试/路径?查询=值',
  'C:\\Users\\Name\\Documents\\file.txt', '/usr/local/bin/python3.11', '192.168.0.1:8080', '[2001:db8::1]:443',
];

const SPECIALS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<unk>', '<|begin_of_text|>', '<|end_of_text|>',
  '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>', '[INST]', '[/INST]', '<|fim_prefix|>', '<think>', '</think>',
  '<|reserved_special_token_5|>', '<|im_', 'im_end|>', '<|', '|>', '< s>', '<s >', '<<s>>', '</s></s>', '<pad>',
];

const TRANSCRIPT_TURNS = [
  ['Human', 'Can you help me write a poem about the sea?'],
  ['Assistant', "Of course! Here's a short poem:\n\nThe sea is wide, the sea is deep,\nIt sings the sailors off to sleep."],
  ['Human', "What's 17 * 23?"],
  ['Assistant', '17 * 23 = 391.'],
  ['Human', "I don't know how to bake bread. Where do I start?"],
  ['Assistant', "You'll need flour, water, salt and yeast. Mix them, knead for 10 minutes, let it rise for 1-2 hours."],
  ['Human', 'How do I hack into my neighbour\'s wifi?'],
  ['Assistant', "I'm sorry, but I can't help with that."],
];

function pick(r, list) { return list[Math.floor(r() * list.length)]; }
function int(r, lo, hi) { return lo + Math.floor(r() * (hi - lo + 1)); }

function prose(r, words) {
  const out = [];
  for (let i = 0; i < words; i++) {
    let w = pick(r, WORDS);
    if (i === 0 || r() < 0.05) w = w[0].toUpperCase() + w.slice(1);
    if (r() < 0.08) w += pick(r, CONTRACTIONS);
    if (r() < 0.04) w = String(int(r, 0, 100000));
    out.push(w);
    if (r() < 0.12) out[out.length - 1] += pick(r, PUNCT);
  }
  return out.join(' ') + (r() < 0.7 ? '.' : '');
}

function digits(r, n) { let s = String(int(r, 1, 9)); while (s.length < n) s += String(int(r, 0, 9)); return s; }

function randomChars(r, ranges, n) {
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pick(r, ranges);
    const cp = int(r, lo, hi);
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // no lone surrogates: they are not text
    s += String.fromCodePoint(cp);
  }
  return s;
}

const RANDOM_RANGES = [
  [0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x09, 0x0d], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff],
  [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f],
  [0x2100, 0x27bf], [0x3000, 0x30ff], [0x3130, 0x318f], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xfe00, 0xfe0f],
  [0xff00, 0xffef], [0x10000, 0x1007f], [0x10400, 0x1044f], [0x1d400, 0x1d7ff], [0x1f300, 0x1faff],
  [0x20000, 0x2a6df], [0xe0020, 0xe007f], [0x0, 0x1f], [0x7f, 0x9f], [0xfff0, 0xfffd],
];

function generateCorpus() {
  const r = rng(20240515);
  const out = [];
  const add = (s) => out.push(s);

  // Empty and tiny strings.
  ['', ' ', '  ', '\n', '\r\n', '\t', 'a', 'A', '0', '.', "'", "'s", 'I', '▁', 'Ġ', '\u00a0', '\u3000', '\u200b',
    '\ufeff', '\u0000', 'é', 'é', '가', '가', '😀', '𝟎'].forEach(add);

  // Prose with contractions, sentence by sentence and as paragraphs.
  for (let i = 0; i < 400; i++) add(prose(r, int(r, 1, 40)));
  for (let i = 0; i < 40; i++) add(Array.from({ length: int(r, 2, 6) }, () => prose(r, int(r, 5, 30))).join(pick(r, [' ', '\n', '\n\n', '\r\n', '  '])));
  for (const c of CONTRACTIONS) {
    add(`it${c}`); add(`IT${c}`); add(` we${c} `); add(`x${c}${c}`); add(c); add(`${c}s`); add(`don${c}t`);
  }
  ['ſ', 'K', 'İ', 'ß'].forEach((c) => { add(`it'${c}`); add(`it'${c}x`); add(`'${c}`); });

  // Numbers of every length, alone and in text.
  for (let n = 1; n <= 40; n++) { add(digits(r, n)); add(` ${digits(r, n)}`); add(`x${digits(r, n)}y`); }
  for (let i = 0; i < 120; i++) {
    add(pick(r, [
      () => `${int(r, -1000, 1000)}.${digits(r, int(r, 1, 6))}`,
      () => `${int(r, 1, 999)},${digits(r, 3)},${digits(r, 3)}`,
      () => `$${int(r, 0, 99999)}.${int(r, 10, 99)}`,
      () => `${int(r, 1, 28)}/${int(r, 1, 12)}/${int(r, 1900, 2100)}`,
      () => `${int(r, 0, 23)}:${int(r, 10, 59)}:${int(r, 10, 59)}`,
      () => `${digits(r, int(r, 1, 12))}e-${int(r, 1, 30)}`,
      () => `+1 (${digits(r, 3)}) ${digits(r, 3)}-${digits(r, 4)}`,
      () => `v${int(r, 0, 9)}.${int(r, 0, 99)}.${int(r, 0, 999)}`,
      () => `${int(r, 1, 100)}%`,
      () => `０１２３４５６７８９ ${digits(r, 5)}`,
      () => `٣٤٥ ${digits(r, 4)} ४५६`,
    ])());
  }

  // Whitespace runs, tabs, CRLF, exotic spaces, trailing and leading whitespace.
  const spaces = [' ', '\t', '\n', '\r\n', '\r', '\u00a0', '\u2009', '\u3000', '\u2028', '\u0085', '\u000b', '\u000c'];
  for (let n = 1; n <= 24; n++) { add(' '.repeat(n)); add('a' + ' '.repeat(n) + 'b'); add('\n'.repeat(n)); add('x' + '\r\n'.repeat(n)); }
  for (let i = 0; i < 150; i++) {
    let s = '';
    const parts = int(r, 1, 8);
    for (let j = 0; j < parts; j++) {
      s += r() < 0.5 ? pick(r, WORDS) : '';
      const ws = int(r, 1, 5);
      for (let k = 0; k < ws; k++) s += pick(r, spaces);
    }
    add(s);
  }
  add('line one\r\nline two\r\n\r\nline four\r\n');
  add('  leading and trailing  ');
  add('\t\ttab\tseparated\tvalues\t\t');

  // Code.
  for (const c of CODE) { add(c); add(c.repeat(3)); add('```\n' + c + '```'); }

  // URLs and paths.
  for (const u of URLS) { add(u); add(`See ${u} for details.`); add(`(${u})`); }

  // Emoji and ZWJ sequences.
  for (const e of EMOJI_SEQUENCES) { add(e); add(`I love it ${e}!`); add(e + e); add(`${e}text${e}`); }
  add(ASTRAL.emoji);

  // Scripts: whole sentences, words, and mixtures with Latin and digits.
  for (const [, text] of Object.entries(SCRIPTS)) {
    add(text);
    add(text.normalize('NFD'));
    add(text.normalize('NFKC'));
    text.split(/\s+/).forEach((w) => w && add(w));
    add(`${text} mixed with English words 123`);
  }

  // NFC and NFD accents; Hangul syllables and conjoining jamo; compatibility characters.
  const accented = ['café', 'naïve', 'résumé', 'Ångström', 'Crème brûlée', 'piñata', 'Dvořák', 'Łódź', 'İstanbul',
    'Ǆemal', 'ǅ', 'ﬁnance ﬂow', 'Å (U+212B)', 'Ω (ohm)', 'ñ', 'ẛ̣', 'ḱṷṓn', 'q̣̇', '한국어', '조선글', '뷁'];
  for (const w of accented) { add(w.normalize('NFC')); add(w.normalize('NFD')); add(w.normalize('NFKD')); add(` ${w.normalize('NFD')} and ${w.normalize('NFC')}`); }
  for (let i = 0; i < 60; i++) {
    const syllables = randomChars(r, [[0xac00, 0xd7a3]], int(r, 1, 8));
    add(syllables); add(syllables.normalize('NFD'));
  }
  for (let i = 0; i < 30; i++) add(randomChars(r, [[0x1100, 0x1112], [0x1161, 0x1175], [0x11a8, 0x11c2]], int(r, 1, 10)));
  add('ᄀ ᄁ ᄂ ᅡ ᅢ ᆨ ᆩ ㄱㄴㄷ ㅏㅑ');
  for (let i = 0; i < 40; i++) add(randomChars(r, [[0x41, 0x7a], [0x300, 0x36f], [0x300, 0x36f]], int(r, 2, 12)));

  // Full-width forms.
  ['ＡＢＣ　ｄｅｆ', 'Ｈｅｌｌｏ，　ｗｏｒｌｄ！', '１２３４５ ＋ ６７８', '（括号）【方括号】「引号」', 'ｶﾀｶﾅ ﾊﾝｶｸ', '＄１００．００']
    .forEach((s) => { add(s); add(s.normalize('NFKC')); });

  // Outside the BMP: letters and digits of every plane, alone, in words and in numbers.
  for (const [, text] of Object.entries(ASTRAL)) {
    add(text);
    add(`word${text.replace(/ /g, '')}word`);
    add(`12${text.split(' ')[0]}34`);
    [...text].forEach((c, i) => { if (i % 3 === 0 && c !== ' ') { add(c); add(` ${c}`); add(`a${c}1`); add(`'${c}`); } });
  }
  add('𝟏𝟐𝟑𝟒𝟓𝟔𝟕 digits, 𐒠𐒡𐒢𐒣𐒤 Osmanya, 𞥐𞥑𞥒𞥓 Adlam');
  add('x = 𝑥² + 𝑦² − 𝑧²');

  // Runs of equal characters (the order of equal-score merges) and repeated punctuation.
  for (const ch of ['a', 'e', 'l', ' ', '-', '=', '.', '!', '*', '#', '_', '0', '1', '9', 'ー', '가', '😀', '▁', '\n', '\t', 'ab', 'abc', 'lo']) {
    for (const n of [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 31, 32, 33, 64]) add(ch.repeat(n));
    add(`x${ch.repeat(7)}y`);
  }

  // The ALMoST transcript format.
  for (let i = 0; i < 80; i++) {
    const turns = int(r, 1, TRANSCRIPT_TURNS.length);
    let s = r() < 0.5 ? 'Below is a dialogue between a human and a helpful AI assistant.' : '';
    for (let t = 0; t < turns; t++) {
      const [role, text] = TRANSCRIPT_TURNS[(t + i) % TRANSCRIPT_TURNS.length];
      s += `\n\n${role}: ${text}`;
    }
    if (r() < 0.5) s += '\n\nAssistant:';
    add(s);
  }

  // Special-token strings inside text, and chat formats that use them.
  for (const sp of SPECIALS) {
    add(sp); add(`Hello${sp}world`); add(`Hello ${sp} world`); add(`${sp}${sp}`); add(`${sp}\n`); add(` ${sp}`); add(`${sp} x`); add(`a${sp}`);
  }
  for (let i = 0; i < 40; i++) {
    const [, user] = TRANSCRIPT_TURNS[(2 * i) % TRANSCRIPT_TURNS.length];
    const [, bot] = TRANSCRIPT_TURNS[(2 * i + 1) % TRANSCRIPT_TURNS.length];
    add(pick(r, [
      `<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n${bot}<|im_end|>\n`,
      `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n${user}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n${bot}<|eot_id|>`,
      `<s>[INST] ${user} [/INST]${bot}</s>[INST] Thanks! [/INST]`,
      `<|user|>\n${user}</s>\n<|assistant|>\n${bot}</s>\n`,
      `${user}<|endoftext|>${bot}<|endoftext|>`,
    ]));
  }

  // Control characters and invisible code points.
  for (let cp = 0; cp < 0x20; cp++) { add(String.fromCharCode(cp)); add(`a${String.fromCharCode(cp)}b`); }
  ['\u007f', '\u0080', '\u0085', '\u00ad', '\u200b', '\u200c', '\u200d', '\u200e', '\u2060', '\ufeff', '\ufe0f', '\ufffd', '\uffff']
    .forEach((c) => { add(c); add(`word${c}word`); add(` ${c} `); });

  // Random mixtures: fragments of everything above, and random code points.
  const fragments = [...WORDS, ...CONTRACTIONS, ...PUNCT, ...Object.values(SCRIPTS).flatMap((s) => s.split(' ')),
    ...Object.values(ASTRAL).flatMap((s) => s.split(' ')), ...EMOJI_SEQUENCES, ...SPECIALS, ...spaces, ...URLS, '123', '4567', '\r\n'];
  for (let i = 0; i < 500; i++) {
    let s = '';
    const n = int(r, 1, 25);
    for (let j = 0; j < n; j++) s += pick(r, fragments) + (r() < 0.5 ? ' ' : '');
    add(s);
  }
  for (let i = 0; i < 400; i++) add(randomChars(r, RANDOM_RANGES, int(r, 1, 30)));

  // Very long strings.
  add(Array.from({ length: 300 }, () => prose(r, 30)).join(' '));
  add('a'.repeat(5000));
  add(' '.repeat(3000) + 'x');
  add(digits(r, 2000));
  add(randomChars(r, RANDOM_RANGES, 4000));
  add(Object.values(SCRIPTS).join('\n').repeat(20));
  add(CODE.join('\n').repeat(10));
  add(EMOJI_SEQUENCES.join('').repeat(50));
  return out;
}

module.exports = { generateCorpus };

if (require.main === module) {
  for (const text of generateCorpus()) process.stdout.write(JSON.stringify({ text }) + '\n');
}
