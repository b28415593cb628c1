import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
}

const TIMEOUT_MS = 5000;

/**
 * A GET whose request line is written byte for byte over a plain TCP socket: no URL parsing,
 * normalisation or escaping on the client side, so hostile targets (`..%2f`, raw backslashes,
 * `%00`, overlong UTF-8 …) reach the server exactly as given.
 *
 * `target` as a string is written as latin1 (one byte per character code, which must be ≤ 0xff),
 * so raw bytes ≥ 0x80 can be sent as the characters `\x80`–`\xff`; a Buffer is written as is.
 * The request carries `Connection: close`; the response is read until the server closes the
 * socket, then parsed (Content-Length and chunked bodies). Rejects after 5 s without a complete
 * response.
 */
export function rawGet(port: number, target: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  const targetBytes = typeof target === 'string' ? latin1(target) : target;
  const head: string[] = [`Host: 127.0.0.1:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'connection') head[lower === 'host' ? 0 : 1] = `${name}: ${value}`;
    else head.push(`${name}: ${value}`);
  }
  const request = Buffer.concat([Buffer.from('GET ', 'latin1'), targetBytes, Buffer.from(` HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`, 'latin1')]);
  const shown = targetBytes.toString('latin1').slice(0, 120);

  return new Promise<RawResponse>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      if (received.length > 0) {
        // A server may answer (400, 431 …) and reset the connection while we still write: what
        // arrived is the answer, provided it is a complete one.
        try {
          resolve(parseResponse(received));
          return;
        } catch (parseErr) {
          if (!err) {
            reject(new Error(`rawGet ${shown}: ${(parseErr as Error).message}`));
            return;
          }
        }
      }
      reject(new Error(`rawGet ${shown}: ${err ? err.message : 'connection closed without a response'}`));
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`rawGet ${shown}: no complete response within ${TIMEOUT_MS} ms (received ${Buffer.concat(chunks).length} bytes)`));
    }, TIMEOUT_MS);
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish(err));
  });
}

function latin1(text: string): Buffer {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) throw new TypeError(`rawGet: character U+${text.charCodeAt(i).toString(16)} at ${i} is not a byte; pass a Buffer`);
  }
  return Buffer.from(text, 'latin1');
}

/** Parses a complete HTTP/1.x response (status line, headers, body). Throws if it is incomplete. */
export function parseResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`incomplete response head (${data.length} bytes): ${JSON.stringify(data.subarray(0, 200).toString('latin1'))}`);
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!statusLine) throw new Error(`not an HTTP status line: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const rest = data.subarray(end + 4);
  let body: Buffer;
  if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
    body = decodeChunked(rest);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (!Number.isSafeInteger(length) || length < 0) throw new Error(`bad content-length: ${headers['content-length']}`);
    if (rest.length < length) throw new Error(`body truncated: ${rest.length} of ${length} bytes`);
    body = rest.subarray(0, length);
  } else {
    body = rest; // delimited by the close
  }
  return { status: Number(statusLine[1]), headers, body };
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error('chunked body truncated (size line)');
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('bad chunk size');
    at = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < at + size + 2) throw new Error('chunked body truncated (data)');
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}
