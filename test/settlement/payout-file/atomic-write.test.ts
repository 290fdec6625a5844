import fs from 'node:fs/promises';
import path from 'node:path';
import { AtomicWriteError } from '../../../settlement/payout-file/payout-file-errors';
import { writeFileAtomic } from '../../../settlement/payout-file/atomic-write';
import { useTestResources } from '../../fixtures/resources';
import { tempDataDir } from '../../fixtures/seed-payouts';

const r = useTestResources();

describe('atomic write', () => {
  it('writes the whole content and leaves no temp file behind', async () => {
    const dir = await tempDataDir(r);
    const target = path.join(dir, 'nested', 'out.xml');
    expect(await writeFileAtomic(target, 'hello\n')).toBe('written');
    expect(await fs.readFile(target, 'utf8')).toBe('hello\n');
    expect(await fs.readdir(path.dirname(target))).toEqual(['out.xml']);
  });

  it('leaves no temp file and no partial target when the producer fails halfway', async () => {
    const dir = await tempDataDir(r);
    const target = path.join(dir, 'out.xml');
    const failing = writeFileAtomic(target, async (file) => {
      await file.write('<Document>half of it');
      throw new Error('disk went away');
    });
    await expect(failing).rejects.toThrow('disk went away');
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('keeps the old target intact when replacing it fails', async () => {
    const dir = await tempDataDir(r);
    const target = path.join(dir, 'out.xml');
    await writeFileAtomic(target, 'old\n');
    await expect(
      writeFileAtomic(target, async (file) => {
        await file.write('new, but only par');
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    expect(await fs.readFile(target, 'utf8')).toBe('old\n');
    expect(await fs.readdir(dir)).toEqual(['out.xml']);
  });

  it('fails with STS_ATOMIC_WRITE_FAILED and cleans up when the rename cannot happen', async () => {
    const dir = await tempDataDir(r);
    const target = path.join(dir, 'taken');
    await fs.mkdir(path.join(target, 'child'), { recursive: true }); // a non-empty directory where the file should go
    const err = await writeFileAtomic(target, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicWriteError);
    expect((err as AtomicWriteError).code).toBe('STS_ATOMIC_WRITE_FAILED');
    expect((err as AtomicWriteError).retriable).toBe(false);
    expect(await fs.readdir(dir)).toEqual(['taken']);
  });

  it('with overwrite: false, never replaces an existing file and reports it', async () => {
    const dir = await tempDataDir(r);
    const target = path.join(dir, 'out.xml');
    expect(await writeFileAtomic(target, 'first\n', { overwrite: false })).toBe('written');
    expect(await writeFileAtomic(target, 'second\n', { overwrite: false })).toBe('exists');
    expect(await fs.readFile(target, 'utf8')).toBe('first\n');
    expect(await fs.readdir(dir)).toEqual(['out.xml']);
  });
});
