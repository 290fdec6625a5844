import { intList } from '../../../runtime/db/int-list';

/** intList is the only way an id list reaches SQL text: it must hold signed 64-bit integers only. */
describe('intList', () => {
  it('writes the int64 extremes as they are', () => {
    expect(intList([-9223372036854775808n, 0n, 9223372036854775807n, 123456789012345678n])).toBe(
      '-9223372036854775808,0,9223372036854775807,123456789012345678',
    );
  });

  it('refuses a value one past either end', () => {
    expect(() => intList([9223372036854775808n])).toThrow(/does not fit a signed 64-bit integer/);
    expect(() => intList([-9223372036854775809n])).toThrow(/does not fit a signed 64-bit integer/);
  });

  it('refuses anything that is not a bigint, even a whole number', () => {
    for (const bad of [1.5, 7, '1 OR 1=1', null] as unknown as bigint[]) {
      expect(() => intList([bad])).toThrow(/does not fit a signed 64-bit integer/);
    }
  });

  it('refuses an empty list', () => {
    expect(() => intList([])).toThrow(/at least one id/);
  });
});
