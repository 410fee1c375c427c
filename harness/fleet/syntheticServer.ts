import { serveSyntheticFleet } from './synthetic';

/**
 * `node --import tsx harness/fleet/syntheticServer.ts N [SEED]`: serves a generated fleet of N from its own
 * process (so a measurement of the client's event loop does not measure the server), prints its
 * URL on the first line, stops on SIGTERM or when stdin closes.
 */
const n = Number(process.argv[2] ?? 5000);
void serveSyntheticFleet(n, Number(process.argv[3] ?? 42)).then((s) => {
  process.stdout.write(`${s.url}\n`);
  const stop = (): void => void s.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.resume();
  process.stdin.once('end', stop);
});
