/**
 * A reference server for the HTTP benchmark: the least a Node.js process can do to serve a file
 * (node:http, one process, a file opened once, streamed with createReadStream; no ticket, no path
 * checks, no audit). It shows the platform's own ceiling next to nginx and the file host.
 * IPC: parent sends { root }, child answers { port }.
 */
import { createReadStream, openSync, fstatSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

process.once('message', ({ root }: { root: string }) => {
  const files = new Map<string, { fd: number; size: number }>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.slice('/files/'.length);
    let file = files.get(path);
    if (!file) {
      const fd = openSync(join(root, decodeURIComponent(path)), 'r');
      file = { fd, size: fstatSync(fd).size };
      files.set(path, file);
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.size });
    createReadStream('', { fd: file.fd, start: 0, end: file.size - 1, autoClose: false, highWaterMark: 512 * 1024 }).pipe(res);
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('disconnect', () => process.exit(0));
});
