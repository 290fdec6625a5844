/**
 * How every benchmark script ends: exit 0 when `main` resolves, 1 with the stack when it rejects
 * (a lost or doubled effect, or a failed setup). The explicit exit also ends the Kafka and MySQL
 * clients' keep-alive sockets, which would otherwise hold the process open.
 */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
