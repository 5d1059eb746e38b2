/** The `endpoints` of the etcd config as the etcd3 client takes them. */

/**
 * The endpoints with a scheme: as given when they have one, else `https://` when TLS is
 * configured and `http://` otherwise. The client uses TLS for all endpoints or for none.
 * @throws Error for a plain `http://` endpoint while TLS is configured, or a mix of schemes
 * @example endpointUrls(['10.0.0.1:2379'], false) // ['http://10.0.0.1:2379']
 */
export function endpointUrls(endpoints: readonly string[], tls: boolean): string[] {
  const urls = endpoints.map((e) => {
    const scheme = /^(https?):\/\//i.exec(e);
    return scheme ? `${(scheme[1] as string).toLowerCase()}://${e.slice(scheme[0].length)}` : `${tls ? 'https' : 'http'}://${e}`;
  });
  const secure = urls.filter((u) => u.startsWith('https:')).length;
  if (tls && secure < urls.length) throw new Error('etcd: tls is configured but an endpoint is plain http://');
  if (secure > 0 && secure < urls.length) throw new Error('etcd: endpoints mix http:// and https://');
  return urls;
}
