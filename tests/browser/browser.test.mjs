// The platform flow in headless Chromium, against the real mediastore binary with upload tokens
// required: the form gets a token from the platform's backend, uploads during fill-in (with
// progress), keeps the ids in hidden fields, maps on submit through the backend, then shows the
// images by id. Also: a page without a token and an unconfigured origin are refused, and Swagger
// UI renders the operations offline and uploads with a token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deflateSync, crc32 } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startPlatform } from './platform.mjs';

const API_KEY = 'browser-test-key';
const SIGNING_KEY = 'browser-test-signing-key-0123456789abcdef';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const BINARY = process.env.MEDIASTORE_BIN
  ?? join(process.env.CARGO_TARGET_DIR ?? new URL('../../target', import.meta.url).pathname, 'debug/mediastore');

let api; // http://127.0.0.1:<port> of mediastore
let service, browser, platform, stranger, dir;

/** A real PNG of the given size, colour-striped so that it is visibly an image. */
function png(width, height, [r, g, b]) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = [0];
    for (let x = 0; x < width; x++) row.push((r + x * 3) % 256, (g + y * 5) % 256, b);
    rows.push(Buffer.from(row));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Starts mediastore on a free port and resolves with its base URL (read from its JSON log). */
async function startService(corsOrigin) {
  const child = spawn(BINARY, ['serve'], {
    cwd: dir,
    env: {
      ...process.env,
      BIND_ADDR: '127.0.0.1:0',
      DATABASE_URL: `sqlite://${join(dir, 'media.db')}`,
      UPLOAD_DIR: join(dir, 'uploads'),
      MEDIA_API_KEY: API_KEY,
      UPLOAD_AUTH: 'token',
      SIGNING_KEYS: SIGNING_KEY,
      CORS_ALLOWED_ORIGINS: corsOrigin,
      LOG_FORMAT: 'json',
      RUST_LOG: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start ${BINARY} (set MEDIASTORE_BIN): ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`mediastore exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line);
      if (entry.message === 'mediastore listening') resolve(entry.port);
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mediastore-browser-'));
  await mkdir(ARTIFACTS, { recursive: true });
  platform = await startPlatform({ api: () => api, apiKey: API_KEY });
  // The stranger's backend holds a valid key, so only its origin is wrong.
  stranger = await startPlatform({ api: () => api, apiKey: API_KEY });
  service = await startService(platform.origin);
  api = service.url;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  service?.child.kill('SIGTERM');
  platform?.server.close();
  stranger?.server.close();
  await rm(dir, { recursive: true, force: true });
});

test('a form uploads each picture when chosen and shows them by id after submit', async () => {
  const page = await browser.newPage();
  await page.goto(`${platform.origin}/?api=${encodeURIComponent(api)}`);
  await page.fill('#owner', 'Rosa Flowers');
  await page.setInputFiles('#photos', [
    { name: 'bouquet.png', mimeType: 'image/png', buffer: png(160, 120, [200, 40, 90]) },
    { name: 'venue.png', mimeType: 'image/png', buffer: png(120, 90, [30, 120, 200]) },
  ]);
  // Uploaded while the form is still being filled in: ids land in hidden fields.
  await page.waitForFunction(() => document.querySelectorAll('input[name=media_id]').length === 2);
  assert.deepEqual(await page.locator('.status').allTextContents(), ['uploaded', 'uploaded']);
  assert.deepEqual(await page.locator('progress').evaluateAll((ps) => ps.map((p) => p.value)), [100, 100]);
  const ids = await page.locator('input[name=media_id]').evaluateAll((inputs) => inputs.map((i) => i.value));

  await page.click('#submit');
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('#mapped img')];
    return imgs.length === 2 && imgs.every((img) => img.complete && img.naturalWidth > 0);
  });
  assert.equal(await page.textContent('#saved-owner'), 'Rosa Flowers');
  const shown = await page.locator('#mapped img').evaluateAll((imgs) => imgs.map((i) => [i.dataset.id, i.naturalWidth]));
  assert.deepEqual(new Set(shown.map(([id]) => id)), new Set(ids));
  assert.deepEqual(shown.map(([, width]) => width).sort(), [120, 160]);
  await page.screenshot({ path: join(ARTIFACTS, 'browser-form.png'), fullPage: true });

  // The records really are mapped, with metadata.
  for (const id of ids) {
    const info = await (await fetch(`${api}/v1/media/${id}/info`)).json();
    assert.equal(info.owner, 'Rosa Flowers');
    assert.deepEqual(info.metadata.tags, ['profile']);
  }
  await page.close();
});

test('a page that did not get an upload token cannot upload', async () => {
  const page = await browser.newPage();
  await page.goto(`${platform.origin}/?api=${encodeURIComponent(api)}&token=none`);
  await page.setInputFiles('#photos', [{ name: 'x.png', mimeType: 'image/png', buffer: png(20, 20, [4, 5, 6]) }]);
  await page.waitForSelector('.status.error');
  // The refusal is readable by the page (CORS headers on the 401 problem), so it can say why.
  assert.match(await page.textContent('.status'), /token/);
  assert.equal(await page.locator('input[name=media_id]').count(), 0);
  await page.close();
});

test('a page on an origin that is not configured cannot upload', async () => {
  const page = await browser.newPage();
  await page.goto(`${stranger.origin}/?api=${encodeURIComponent(api)}`);
  await page.setInputFiles('#photos', [{ name: 'x.png', mimeType: 'image/png', buffer: png(20, 20, [1, 2, 3]) }]);
  await page.waitForSelector('.status.error');
  assert.equal(await page.textContent('.status'), 'upload refused');
  assert.equal(await page.locator('input[name=media_id]').count(), 0);
  await page.close();
});

test('Swagger UI renders every operation offline', async () => {
  const page = await browser.newPage();
  const external = [];
  page.on('request', (request) => { if (!request.url().startsWith(api)) external.push(request.url()); });
  await page.goto(`${api}/docs/`);
  await page.waitForSelector('.opblock');
  const operations = await page.locator('.opblock-summary-path').allTextContents();
  for (const path of ['/v1/media', '/v1/media/map', '/v1/media/{id}', '/v1/files/{name}', '/v1/media/{id}/info',
    '/v1/media/{id}/variants/{variant}', '/v1/files/{name}/variants/{variant}', '/v1/upload-tokens',
    '/v1/media/{id}/signed-urls', '/healthz', '/readyz', '/metrics']) {
    assert.ok(operations.some((p) => p.replace(/\u200b/g, '') === path), `${path} is not shown: ${operations}`);
  }
  // One block per operation of the served document.
  const document = await (await fetch(`${api}/openapi.json`)).json();
  const documented = Object.values(document.paths).flatMap((item) => Object.keys(item)
    .filter((method) => ['get', 'head', 'post', 'put', 'delete', 'patch'].includes(method)));
  assert.equal(documented.length, 17);
  assert.equal(await page.locator('.opblock').count(), documented.length);
  assert.deepEqual(external, [], 'Swagger UI fetched nothing from outside the service');
  await page.screenshot({ path: join(ARTIFACTS, 'swagger-ui.png'), fullPage: true });
  await page.close();
});

test('Swagger UI "Try it out" uploads a picked file', async () => {
  const page = await browser.newPage();
  await page.goto(`${api}/docs/`);
  const operation = page.locator('.opblock-post', { hasText: 'Upload images' });
  await operation.locator('.opblock-summary').click();
  await operation.locator('button.try-out__btn').click();
  // `file` is an array of binary parts; Swagger UI starts it with one file picker.
  if (!(await operation.locator('input[type=file]').count())) {
    await operation.locator('button', { hasText: /Add (string )?item/ }).first().click();
  }
  // Uploads need a token here, as on a production service: mint one as the backend would.
  const minted = await fetch(`${api}/v1/upload-tokens`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(minted.status, 201);
  await operation.locator('tr[data-param-name="Upload-Token"] input').fill((await minted.json()).token);
  await operation.locator('input[type=file]').first()
    .setInputFiles({ name: 'from-swagger.png', mimeType: 'image/png', buffer: png(30, 20, [90, 90, 90]) });
  await operation.locator('button.execute').click();
  await operation.locator('.live-responses-table tbody .response-col_status').first().waitFor();
  const status = (await operation.locator('.live-responses-table tbody .response-col_status').first().textContent()).trim();
  const body = await operation.locator('.live-responses-table .highlight-code').first().textContent();
  await page.screenshot({ path: join(ARTIFACTS, 'swagger-try-it-out.png'), fullPage: true });
  assert.equal(status, '201', body);
  assert.match(body, /from-swagger\.png/);
  await page.screenshot({ path: join(ARTIFACTS, 'swagger-try-it-out.png'), fullPage: true });
  await page.close();
});
