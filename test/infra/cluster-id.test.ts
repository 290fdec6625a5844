import { base64UrlUuid } from '../../infra/kafka-broker';

/**
 * kafka-storage format takes the cluster id as a command-line argument, so an id starting with '-'
 * is read as an option and the broker never starts. One draw in 64 starts with '-'; 10,000 draws
 * would hold about 156 of them without the redraw.
 */
test('cluster ids are 16 random bytes in base64url and never start with a dash', () => {
  const ids = Array.from({ length: 10_000 }, () => base64UrlUuid());
  expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
  expect(ids.filter((id) => !/^[A-Za-z0-9_-]{22}$/.test(id))).toEqual([]);
  expect(new Set(ids).size).toBe(ids.length);
});
