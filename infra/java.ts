import { PrerequisiteMissingError } from './stack-errors';
import { runSync, which } from './process-control';

/** The `java` to run the broker and registry with; both need Java 17 or newer. */
export function findJava(): string {
  const home = process.env.JAVA_HOME;
  const java = home ? `${home}/bin/java` : which('java');
  if (!java) throw new PrerequisiteMissingError('Java 17+', 'apt-get install openjdk-17-jre-headless, or set JAVA_HOME');
  const res = runSync(java, ['-version'], 15_000);
  const m = /version "(\d+)/.exec(`${res.stderr}${res.stdout}`);
  const major = m ? Number(m[1]) : 0;
  if (major < 17) {
    throw new PrerequisiteMissingError(`Java 17+ (found ${major || 'none'} at ${java})`, 'install openjdk-17 and set JAVA_HOME');
  }
  return java;
}
