/**
 * The serving side of the commlink benchmark, in its own process so that client and server each
 * get a core, as they would on two hosts. Also runs a TLS echo sink as the peer for bulk transfer.
 * Protocol with the parent (IPC): parent sends { keys: string[], suite }, child answers
 * { commlinkPort, tlsPort, tlsEchoPort }.
 */
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CommlinkServer, KeyBag, type Body, type RequestContext } from '../../lib/commlink/index.js';
import type { SuiteName } from '../../lib/commlink/suites/index.js';
import { createLogger } from '../../lib/log/logger.js';

interface Setup {
  keys: string[];
  suite: SuiteName;
  tlsKeyPath?: string;
  tlsCertPath?: string;
}

process.once('message', async (setup: Setup) => {
  const bag = new KeyBag(setup.keys.map((k) => Buffer.from(k, 'base64')));
  const server = new CommlinkServer({
    bag,
    acceptSuites: [setup.suite],
    log: createLogger({ level: 'warn' }),
    handlers: {
      echo: (body: Body) => body,
      ingest: async (_body: Body, ctx: RequestContext) => {
        let bytes = 0;
        for await (const chunk of ctx.stream!) bytes += (chunk as Buffer).length;
        return { bytes };
      },
    },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  let tlsPort = 0;
  let tlsEchoPort = 0;
  if (setup.tlsKeyPath && setup.tlsCertPath) {
    const options = {
      key: readFileSync(setup.tlsKeyPath),
      cert: readFileSync(setup.tlsCertPath),
      minVersion: 'TLSv1.3' as const,
      ciphers: 'TLS_AES_256_GCM_SHA384',
    };
    // Bulk peer: counts the bytes of one upload.
    const tls = createTlsServer(options, (socket) => {
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      socket.on('end', () => socket.end(String(bytes)));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    tlsPort = (tls.address() as AddressInfo).port;
    // Round-trip peer: a JSON-lines echo over TLS (request parsed and re-serialised, as an RPC would).
    const echo = createTlsServer(options, (socket) => {
      socket.setNoDelay(true);
      let pending = '';
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) !== -1) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          socket.write(JSON.stringify(JSON.parse(line)) + '\n');
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    tlsEchoPort = (echo.address() as AddressInfo).port;
  }
  process.send!({ commlinkPort: port, tlsPort, tlsEchoPort });
  process.on('disconnect', () => process.exit(0));
});
