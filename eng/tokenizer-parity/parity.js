#!/usr/bin/env node
// Tokenizer parity with Hugging Face `tokenizers` (the Rust library, through @anush008/tokenizers) on real files.
//
//   npm install                      # once, in eng/tokenizer-parity (node_modules/ and .cache/ are git-ignored)
//   node parity.js references        # writes the corpus, the fixtures and reference.jsonl for every tokenizer
//   node parity.js compare [names]   # runs Almost (ParityCli) on the corpus; prints identical/total and minimal
//                                    # examples of every mismatch; exit code 1 when anything differs
//   node parity.js bench [names]     # Hugging Face's load time and per-call / batch encode speed
//
// Names: gpt2, qwen3, mistral, llama3 (default: all). Llama 3's files are fetched into .cache/ only.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const readline = require('readline');
const { generateCorpus } = require('./corpus');
const { TOKENIZERS, fixtures, repo } = require('./tokenizers');

function hf() {
  try {
    return require('@anush008/tokenizers');
  } catch (e) {
    console.error('Hugging Face tokenizers for Node is missing: run `npm install` in eng/tokenizer-parity first.');
    process.exit(2);
  }
}

function selected(names) {
  const list = names.length ? TOKENIZERS.filter((t) => names.includes(t.name)) : TOKENIZERS;
  if (list.length === 0) throw new Error(`unknown tokenizer; expected one of ${TOKENIZERS.map((t) => t.name).join(', ')}`);
  return list;
}

function writeAtomic(file, text) {
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

async function reference(tokenizer, text) {
  const plain = await tokenizer.encode(text, null, { addSpecialTokens: false });
  const ids = plain.getIds();
  const withSpecial = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
  const decoded = await tokenizer.decode(ids, false);
  const line = { ids };
  if (decoded !== text) line.decoded = decoded;
  if (withSpecial.length !== ids.length || withSpecial.some((id, i) => id !== ids[i])) line.special = withSpecial;
  return line;
}

async function references(names) {
  const { Tokenizer } = hf();
  const corpus = generateCorpus();
  fs.mkdirSync(fixtures, { recursive: true });
  writeAtomic(path.join(fixtures, 'corpus.jsonl'), corpus.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  console.log(`corpus: ${corpus.length} strings -> ${path.relative(repo, path.join(fixtures, 'corpus.jsonl'))}`);
  for (const t of selected(names)) {
    t.prepare(t);
    const tokenizer = Tokenizer.fromFile(path.join(t.folder, 'tokenizer.json'));
    const lines = [];
    for (const text of corpus) lines.push(JSON.stringify(await reference(tokenizer, text)));
    writeAtomic(path.join(t.folder, 'reference.jsonl'), lines.join('\n') + '\n');
    console.log(`${t.name}: reference.jsonl -> ${path.relative(repo, t.folder)}`);
  }
}

// One ParityCli process per tokenizer: JSON lines in ({"text"}), JSON lines out ({"ids","decoded","special"}).
class Almost {
  constructor(folder) {
    const dll = buildCli();
    this.proc = spawn('dotnet', [dll, folder], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.pending = [];
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => this.pending.shift()(JSON.parse(line)));
  }

  run(text) {
    return new Promise((resolve) => { this.pending.push(resolve); this.proc.stdin.write(JSON.stringify({ text }) + '\n'); });
  }

  close() { this.proc.stdin.end(); }
}

let cliDll;
function buildCli() {
  if (cliDll) return cliDll;
  const project = path.join(__dirname, 'ParityCli', 'ParityCli.csproj');
  execFileSync('dotnet', ['build', '-c', 'Release', '--nologo', '-v', 'q', project], { stdio: ['ignore', 'ignore', 'inherit'] });
  cliDll = path.join(__dirname, 'ParityCli', 'bin', 'Release', 'net10.0', 'ParityCli.dll');
  return cliDll;
}

function same(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

function differs(ref, ours, text) {
  const problems = [];
  if (!same(ref.ids, ours.ids)) problems.push('ids');
  if ((ref.decoded ?? text) !== ours.decoded) problems.push('decode');
  if (!same(ref.special ?? ref.ids, ours.special)) problems.push('special');
  return problems;
}

// Greedy shrinking: drop code points while the same kind of mismatch remains, to print a minimal example.
async function shrink(text, problem, tokenizer, almost) {
  const fails = async (s) => differs(await reference(tokenizer, s), await almost.run(s), s).includes(problem);
  let chars = [...text];
  for (let size = Math.max(1, chars.length >> 1); size >= 1; size >>= 1) {
    for (let i = 0; i + size <= chars.length && chars.length > 1;) {
      const candidate = chars.slice(0, i).concat(chars.slice(i + size));
      if (candidate.length > 0 && await fails(candidate.join(''))) chars = candidate; else i += size;
    }
  }
  return chars.join('');
}

function show(s) { return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => c); }

async function compare(names) {
  const { Tokenizer } = hf();
  const corpus = generateCorpus();
  let allSame = true;
  for (const t of selected(names)) {
    if (!fs.existsSync(path.join(t.folder, 'tokenizer.json'))) t.prepare(t);
    const tokenizer = Tokenizer.fromFile(path.join(t.folder, 'tokenizer.json'));
    const almost = new Almost(t.folder);
    let identical = 0;
    const byProblem = new Map();
    const probe = await almost.run('');
    if (probe.error) {
      console.log(`${t.name}: 0 / ${corpus.length} identical: Almost cannot load it: ${probe.error}`);
      almost.close();
      allSame = false;
      continue;
    }
    for (const text of corpus) {
      const ref = await reference(tokenizer, text);
      const ours = await almost.run(text);
      const problems = differs(ref, ours, text);
      if (problems.length === 0) identical++;
      for (const p of problems) {
        if (!byProblem.has(p)) byProblem.set(p, []);
        byProblem.get(p).push(text);
      }
    }
    console.log(`${t.name}: ${identical} / ${corpus.length} identical (ids, decode, special tokens added)`);
    for (const [problem, texts] of byProblem) {
      allSame = false;
      console.log(`  ${problem}: ${texts.length} strings differ; minimal examples:`);
      const seen = new Set();
      for (const text of texts.slice(0, 12)) {
        const minimal = await shrink(text, problem, tokenizer, almost);
        if (seen.has(minimal)) continue;
        seen.add(minimal);
        const ref = await reference(tokenizer, minimal);
        const ours = await almost.run(minimal);
        const what = problem === 'decode' ? [ref.decoded ?? minimal, ours.decoded] : problem === 'special' ? [ref.special ?? ref.ids, ours.special] : [ref.ids, ours.ids];
        console.log(`    ${show(minimal)}  hf ${show(what[0])}  almost ${show(what[1])}`);
      }
    }
    almost.close();
  }
  process.exitCode = allSame ? 0 : 1;
}

async function bench(names) {
  const { Tokenizer } = hf();
  const corpus = generateCorpus();
  const chars = corpus.reduce((n, s) => n + s.length, 0);
  for (const t of selected(names)) {
    if (!fs.existsSync(path.join(t.folder, 'tokenizer.json'))) t.prepare(t);
    const file = path.join(t.folder, 'tokenizer.json');
    // Wall and CPU time (all threads): on a shared machine CPU time is the fairer comparison.
    const cpuMs = (since) => { const d = process.cpuUsage(since); return (d.user + d.system) / 1000; };
    const loads = [];
    const loadCpu = [];
    let tokenizer;
    for (let i = 0; i < 5; i++) {
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      tokenizer = Tokenizer.fromFile(file);
      loads.push(Number(process.hrtime.bigint() - start) / 1e6);
      loadCpu.push(cpuMs(cpu));
    }
    for (const text of corpus.slice(0, 200)) await tokenizer.encode(text, null, { addSpecialTokens: false });
    const encodeCpu = process.cpuUsage();
    let start = process.hrtime.bigint();
    let tokens = 0;
    for (const text of corpus) tokens += (await tokenizer.encode(text, null, { addSpecialTokens: false })).getLength();
    const perCall = Number(process.hrtime.bigint() - start) / 1e9;
    const perCallCpu = cpuMs(encodeCpu) / 1000;
    start = process.hrtime.bigint();
    await tokenizer.encodeBatch(corpus, { addSpecialTokens: false });
    const batch = Number(process.hrtime.bigint() - start) / 1e9;
    const firstLoad = loads[0];
    loads.sort((a, b) => a - b);
    loadCpu.sort((a, b) => a - b);
    console.log(JSON.stringify({
      tokenizer: t.name, hf_first_load_ms: +firstLoad.toFixed(1), hf_load_ms_median: +loads[2].toFixed(1), hf_load_cpu_ms_median: +loadCpu[2].toFixed(1),
      strings: corpus.length, chars, tokens,
      hf_encode_per_call_chars_per_s: Math.round(chars / perCall), hf_encode_per_call_us: +((perCall / corpus.length) * 1e6).toFixed(1),
      hf_encode_per_call_cpu_us: +((perCallCpu / corpus.length) * 1e6).toFixed(1),
      hf_encode_batch_chars_per_s: Math.round(chars / batch),
    }));
  }
}

const [command, ...names] = process.argv.slice(2);
const commands = { references, compare, bench };
if (!commands[command]) {
  console.error('usage: node parity.js references|compare|bench [gpt2 qwen3 mistral llama3]');
  process.exit(2);
}
commands[command](names).catch((e) => { console.error(e); process.exit(2); });
