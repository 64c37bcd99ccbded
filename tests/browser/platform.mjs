// A stand-in for the platform: serves form.html from its own origin, mints an upload token for
// the form and, on submit, maps the uploads to the user, both by calling mediastore with the API
// key (which never reaches the browser).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

export async function startPlatform({ api, apiKey }) {
  const page = await readFile(new URL('./form.html', import.meta.url));
  const server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (req.method === 'POST' && req.url === '/upload-token') {
      // What a backend does when it renders a form: a short-lived token for a few pictures.
      const minted = await fetch(`${api()}/v1/upload-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ max_files: 10, max_file_bytes: 10 * 1024 * 1024, expires_in: 900 }),
      });
      res.writeHead(minted.status, { 'content-type': 'application/json' }).end(await minted.text());
    } else if (req.method === 'POST' && req.url === '/submit') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const { owner, ids } = JSON.parse(body);
      const mapped = await fetch(`${api()}/v1/media/map`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ owner, files: ids.map((id) => ({ id, tags: ['profile'] })) }),
      });
      res.writeHead(mapped.status, { 'content-type': 'application/json' }).end(await mapped.text());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}
