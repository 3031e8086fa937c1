// Typing into a real editor: Monaco, VS Code's editor core, in headless Chromium, with the
// extension's language configuration and TextMate grammar. Each test types a line key by key
// and checks the text the editor ends with, which is what auto-closing pairs decide.
//
// Needs Chromium (`apt-get install chromium`; another binary through CHROMIUM_PATH).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.ttf': 'font/ttf',
};

let server;
let browser;
let page;

// Serves the extension's folder (its node_modules included) on the loopback address.
function serve() {
  return new Promise((resolve) => {
    const http = createServer(async (request, response) => {
      const path = normalize(join(root, decodeURIComponent(new URL(request.url, 'http://x').pathname)));
      if (!path.startsWith(root)) {
        response.writeHead(403).end();
        return;
      }
      try {
        const body = await readFile(path);
        response.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
        response.end(body);
      } catch {
        response.writeHead(404).end();
      }
    });
    http.listen(0, '127.0.0.1', () => resolve(http));
  });
}

before(async () => {
  server = await serve();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox'],
  });
  page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`http://127.0.0.1:${server.address().port}/test/typing/editor.html`);
  await page.evaluate(() => window.ready);
  assert.deepEqual(errors, []);
});

after(async () => {
  await browser?.close();
  server?.close();
});

// Puts `text` in the editor with the cursor at its end, types `typed` key by key, and returns
// the editor's text.
async function typeAfter(text, typed) {
  await page.evaluate((text) => {
    const editor = window.editor;
    editor.setValue(text);
    const model = editor.getModel();
    // Tokens as VS Code has them before anyone types: every line tokenized.
    model.tokenization.forceTokenization(model.getLineCount());
    const end = model.getPositionAt(text.length);
    editor.setPosition(end);
    editor.focus();
  }, text);
  // Key by key, as a person types: each key is handled before the next is pressed.
  for (const key of typed) {
    await page.keyboard.type(key);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
  }
  return page.evaluate(() => window.editor.getValue());
}

const task = 'workflow w {\n  param name: string\n  task a {\n    ';
const block = 'workflow w {\n  param name: string\n  task a {\n    prompt = """\n      ';

test('the grammar marks strings and interpolations in them as string tokens', async () => {
  await typeAfter(`${task}run = "echo {{ name }}"`, '');
  const types = await page.evaluate(() => [
    window.tokenTypeAt(4, 12), // inside `"echo `
    window.tokenTypeAt(4, 19), // `name` inside the interpolation
    window.tokenTypeAt(4, 5), // `run`
  ]);
  // Monaco's StandardTokenType: 0 other, 1 comment, 2 string.
  assert.deepEqual(types, [2, 2, 0]);
});

test('typing an interpolation into a string gives exactly what was typed', async () => {
  const text = await typeAfter(task, 'run = "echo {{ name }}"');
  assert.equal(text, `${task}run = "echo {{ name }}"`);
});

test('typing an interpolation into a text block gives exactly what was typed', async () => {
  const text = await typeAfter(block, 'Hello {{ name | slug }}, {{ run.id }}.');
  assert.equal(text, `${block}Hello {{ name | slug }}, {{ run.id }}.`);
});

test('braces and quotes still close outside strings', async () => {
  assert.equal(await typeAfter('workflow w ', '{'), 'workflow w {}');
  assert.equal(await typeAfter(task, 'title = "'), `${task}title = ""`);
  assert.equal(await typeAfter(task, 'labels = ['), `${task}labels = []`);
});
