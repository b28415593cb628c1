/**
 * The FTP login-latency client, in a process of its own: `node login-client.js <port> <password>
 * <rounds> <login>...`. Each round, every login at once; prints the PASS → 230 times of all rounds
 * but the first (a warm-up) as a JSON array of ms.
 */
import { createConnection } from 'node:net';

/** One FTP login over a raw socket: resolves with the ms from sending PASS to reading 230. */
export function timedLogin(port: number, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1');
    let buffer = '';
    let passSentAt = 0;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        if (line[3] === '-') continue; // a multi-line reply's first lines
        const code = line.slice(0, 3);
        if (code === '220') socket.write(`USER ${user}\r\n`);
        else if (code === '331') {
          passSentAt = performance.now();
          socket.write(`PASS ${password}\r\n`);
        } else if (code === '230') {
          const ms = performance.now() - passSentAt;
          socket.end('QUIT\r\n');
          resolve(ms);
        } else if (code !== '221') {
          socket.destroy();
          reject(new Error(`login: ${line}`));
        }
      }
    });
  });
}

async function main(): Promise<void> {
  const [port, password, rounds, ...logins] = process.argv.slice(2);
  const latencies: number[] = [];
  for (let round = 0; round <= Number(rounds); round++) {
    const times = await Promise.all(logins.map((login) => timedLogin(Number(port), login, password!)));
    if (round > 0) latencies.push(...times);
  }
  process.stdout.write(JSON.stringify(latencies));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
