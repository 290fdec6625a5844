import { registryError, registryFailure } from '../../../runtime/registry/registry-client';

/**
 * One registry code per retry decision: an answer that says nothing about the request (none at
 * all, 5xx, 408, 429) is STS_REGISTRY_UNAVAILABLE and retried; any other status is the request's
 * own fault, STS_REGISTRY_REFUSED, and never retried. No stack needed: the classification is pure.
 */
describe('registry failure codes', () => {
  test('no answer, 5xx, 408 and 429 are STS_REGISTRY_UNAVAILABLE, retriable', () => {
    for (const status of [undefined, 500, 502, 503, 408, 429]) {
      expect(registryFailure('GET /schemas/ids/7', status, 'busy')).toMatchObject({
        code: 'STS_REGISTRY_UNAVAILABLE',
        retriable: true,
        context: { component: 'schema-registry', ...(status === undefined ? {} : { status }) },
        fix: expect.stringMatching(/sts status/),
      });
    }
    expect(registryFailure('GET /schemas/ids/7', undefined, 'ECONNREFUSED').message).toBe(
      'schema registry, GET /schemas/ids/7: ECONNREFUSED',
    );
  });

  test('any other status is STS_REGISTRY_REFUSED, not retriable', () => {
    for (const status of [400, 401, 404, 409, 422]) {
      expect(registryFailure('PUT /config/s-value', status, 'bad')).toMatchObject({
        code: 'STS_REGISTRY_REFUSED',
        retriable: false,
        context: { component: 'schema-registry', status },
        fix: expect.stringMatching(/refused as malformed/),
      });
    }
    expect(registryFailure('PUT /config/s-value', 422, 'bad').message).toBe(
      'schema registry, PUT /config/s-value: HTTP 422 bad',
    );
  });

  test('a message worded by the caller keeps its words and gets the same classification', () => {
    const message = 'setting compatibility failed: HTTP 503 starting';
    expect(registryError(message, 503)).toMatchObject({
      code: 'STS_REGISTRY_UNAVAILABLE',
      message,
    });
    expect(registryError(message, 400)).toMatchObject({ code: 'STS_REGISTRY_REFUSED', message });
  });
});
