// Access: who may do what (from the server's config), and the runtime policies and identities
// of an enclave (MinKMS), which can be edited here.
import { useEffect, useState } from 'preact/hooks';
import type {
  AccessOverview,
  Privilege,
  PutIdentityRequest,
  PutPolicyRequest,
  RuntimeAccess,
  RuntimeRules,
} from '../../src/console/api-types.js';
import { runAction } from './action.js';
import { del, errorMessage, get, isSessionGone, put, seg } from './api.js';
import { Alert, Fact, Field, Ident, StatusLine, TableHead, TableWrap, TextField, Time, yesNo } from './ui.js';

export function AccessPage() {
  const [overview, setOverview] = useState<AccessOverview | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    let live = true;
    get<AccessOverview>('/api/access')
      .then((o) => live && setOverview(o))
      .catch((e: unknown) => {
        if (live && !isSessionGone(e)) setError(errorMessage(e));
      });
    return () => {
      live = false;
    };
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>Access</h1>
      <Alert message={error} />
      {!overview && !error && <p class="muted">Loading access…</p>}
      {overview && (
        <>
          <div class="grid-2">
            <section class="card" aria-labelledby="access-admin">
              <h2 id="access-admin">Admin</h2>
              {overview.admin ? (
                <p>
                  <code class="break">{overview.admin}</code>
                </p>
              ) : (
                <p class="muted">No admin identity is configured, or it is not shown to you.</p>
              )}
            </section>
            <section class="card" aria-labelledby="access-you">
              <h2 id="access-you">You</h2>
              <dl class="facts stacked">
                <Fact label="Identity">
                  <code class="break">{overview.self.identity || '—'}</code>
                </Fact>
                <Fact label="Access">
                  {overview.self.isAdmin
                    ? 'Admin: may do everything'
                    : overview.self.policy
                      ? `Policy ${overview.self.policy}`
                      : 'No policy'}
                </Fact>
                {!overview.self.isAdmin && (
                  <>
                    <Fact label="Allowed">
                      <PatternList items={overview.self.allow} />
                    </Fact>
                    <Fact label="Denied">
                      <PatternList items={overview.self.deny} />
                    </Fact>
                  </>
                )}
              </dl>
            </section>
          </div>

          <section aria-labelledby="access-policies">
            <h2 id="access-policies">Policies</h2>
            {overview.policies.length === 0 && <p class="muted">The config file has no policies.</p>}
            <div class="grid-cards">
              {overview.policies.map((p, i) => (
                <article class="card" key={p.name} aria-labelledby={`config-policy-${i}`}>
                  <h3 id={`config-policy-${i}`} class="break">
                    {p.name}
                  </h3>
                  <dl class="facts stacked">
                    <Fact label="Allow">
                      <PatternList items={p.allow} />
                    </Fact>
                    <Fact label="Deny">
                      <PatternList items={p.deny} />
                    </Fact>
                    <Fact label="Identities">
                      {p.identities.length === 0 ? (
                        <span class="muted">none</span>
                      ) : (
                        <ul class="plain">
                          {p.identities.map((id) => (
                            <li key={id}>
                              <Ident id={id} />
                            </li>
                          ))}
                        </ul>
                      )}
                    </Fact>
                  </dl>
                </article>
              ))}
            </div>
          </section>

          <section aria-labelledby="access-identities">
            <h2 id="access-identities">Identities</h2>
            {overview.identities.length === 0 ? (
              <p class="muted">The config file assigns no identities.</p>
            ) : (
              <TableWrap scrollLabel="Configured identities, scrollable">
                <table aria-label="Identities">
                  <TableHead columns={['Identity', 'Policy', 'Admin']} />
                  <tbody>
                    {overview.identities.map((i) => (
                      <tr key={i.identity}>
                        <td>
                          <Ident id={i.identity} />
                        </td>
                        <td>{i.policy || <span class="muted">—</span>}</td>
                        <td>{yesNo(i.isAdmin)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </section>

          <RuntimeSection enclaves={overview.enclaves.length ? overview.enclaves : ['default']} />
        </>
      )}
    </>
  );
}

function PatternList({ items }: { items: string[] }) {
  if (items.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="plain">
      {items.map((s) => (
        <li key={s}>
          <code>{s}</code>
        </li>
      ))}
    </ul>
  );
}

/** Parses `COMMAND=pattern` lines into rules; throws with the line that has no `=`. */
export function parseRules(text: string, what: string): RuntimeRules {
  const rules: RuntimeRules = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${what}, line ${i + 1}: "${line}" has no "=" (write COMMAND=pattern).`);
    const command = line.slice(0, eq).trim();
    const pattern = line.slice(eq + 1).trim();
    if (!command) throw new Error(`${what}, line ${i + 1}: the command before "=" is missing.`);
    if (!pattern) throw new Error(`${what}, line ${i + 1}: the pattern after "=" is missing.`);
    const list = (rules[command] ??= []);
    if (!list.includes(pattern)) list.push(pattern);
  });
  return rules;
}

function rulesToLines(rules: RuntimeRules): string[] {
  const out: string[] = [];
  for (const [command, patterns] of Object.entries(rules)) {
    for (const p of patterns) out.push(`${command}=${p}`);
  }
  return out;
}

function RuleList({ rules }: { rules: RuntimeRules }) {
  return <PatternList items={rulesToLines(rules)} />;
}

interface RulesFieldProps {
  id: string;
  label: string;
  rows: number;
  value: string;
  onValue: (value: string) => void;
}

/** A labelled textarea for `COMMAND=pattern` lines, described by the rules' hint. */
function RulesField({ id, label, rows, value, onValue }: RulesFieldProps) {
  return (
    <Field id={id} label={label}>
      <textarea
        id={id}
        rows={rows}
        spellcheck={false}
        aria-describedby="rt-rules-help"
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
    </Field>
  );
}

const PRIVILEGES: Exclude<Privilege, ''>[] = ['User', 'Admin', 'SysAdmin'];

function RuntimeSection({ enclaves }: { enclaves: string[] }) {
  const [enclave, setEnclave] = useState(enclaves[0] ?? 'default');
  const [access, setAccess] = useState<RuntimeAccess | null>(null);
  const [loadError, setLoadError] = useState('');
  const [loading, setLoading] = useState(true);
  const [reload, setReload] = useState(0);
  const [status, setStatus] = useState('');
  const [listError, setListError] = useState('');

  // Policy form
  const [policyName, setPolicyName] = useState('');
  const [allowText, setAllowText] = useState('');
  const [denyText, setDenyText] = useState('');
  const [policyError, setPolicyError] = useState('');
  const [policyBusy, setPolicyBusy] = useState(false);

  // Identity form
  const [identity, setIdentity] = useState('');
  const [privilege, setPrivilege] = useState<Privilege>('User');
  const [idPolicy, setIdPolicy] = useState('');
  const [identityError, setIdentityError] = useState('');
  const [identityBusy, setIdentityBusy] = useState(false);

  useEffect(() => {
    let live = true;
    setLoading(true);
    get<RuntimeAccess>(`/api/enclaves/${seg(enclave)}/access`)
      .then((a) => {
        if (!live) return;
        setAccess(a);
        setLoadError('');
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (!live || isSessionGone(e)) return;
        setAccess(null);
        setLoadError(errorMessage(e));
        setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [enclave, reload]);

  const base = `/api/enclaves/${seg(enclave)}`;

  async function savePolicy(e: Event) {
    e.preventDefault();
    setPolicyError('');
    setStatus('');
    const name = policyName.trim();
    if (!name) {
      setPolicyError('Enter a policy name.');
      return;
    }
    let body: PutPolicyRequest;
    try {
      body = { allow: parseRules(allowText, 'Allow rules'), deny: parseRules(denyText, 'Deny rules') };
    } catch (err) {
      setPolicyError(errorMessage(err));
      return;
    }
    await runAction({ setError: setPolicyError, setBusy: setPolicyBusy }, async () => {
      await put(`${base}/policies/${seg(name)}`, body);
      setStatus(`Saved policy ${name}`);
      setPolicyName('');
      setAllowText('');
      setDenyText('');
      setReload((n) => n + 1);
    });
  }

  async function deletePolicy(name: string) {
    setStatus('');
    await runAction({ setError: setListError }, async () => {
      await del(`${base}/policies/${seg(name)}`, {});
      setStatus(`Deleted policy ${name}`);
      setReload((n) => n + 1);
    });
  }

  async function saveIdentity(e: Event) {
    e.preventDefault();
    setIdentityError('');
    setStatus('');
    const id = identity.trim();
    if (!id) {
      setIdentityError('Enter an identity.');
      return;
    }
    const body: PutIdentityRequest = { privilege };
    if (idPolicy.trim()) body.policy = idPolicy.trim();
    await runAction({ setError: setIdentityError, setBusy: setIdentityBusy }, async () => {
      await put(`${base}/identities/${seg(id)}`, body);
      setStatus(`Saved identity ${id}`);
      setIdentity('');
      setIdPolicy('');
      setReload((n) => n + 1);
    });
  }

  async function deleteIdentity(id: string) {
    setStatus('');
    await runAction({ setError: setListError }, async () => {
      await del(`${base}/identities/${seg(id)}`, {});
      setStatus(`Deleted identity ${id}`);
      setReload((n) => n + 1);
    });
  }

  function editPolicy(name: string) {
    const p = access?.policies.find((x) => x.name === name);
    if (!p) return;
    setPolicyName(p.name);
    setAllowText(rulesToLines(p.allow).join('\n'));
    setDenyText(rulesToLines(p.deny).join('\n'));
    setPolicyError('');
    document.getElementById('rt-policy-name')?.focus();
  }

  return (
    <section aria-labelledby="access-runtime">
      <h2 id="access-runtime">Runtime policies and identities</h2>
      <Field id="rt-enclave" label="Enclave" inline>
        <select id="rt-enclave" value={enclave} onChange={(e) => setEnclave(e.currentTarget.value)}>
          {enclaves.map((en) => (
            <option key={en} value={en}>
              {en}
            </option>
          ))}
        </select>
      </Field>
      <StatusLine message={status} />
      <Alert message={loadError} />
      {loading && !access && !loadError && <p class="muted">Loading the enclave's policies and identities…</p>}

      {access && (
        <>
          <h3>Runtime policies</h3>
          {access.policies.length === 0 ? (
            <p class="muted">No runtime policies in {access.enclave}.</p>
          ) : (
            <TableWrap scrollLabel="Runtime policies, scrollable">
              <table aria-label="Runtime policies">
                <TableHead columns={['Name', 'Allow rules', 'Deny rules', 'Created', 'Actions']} />
                <tbody>
                  {access.policies.map((p) => (
                    <tr key={p.name}>
                      <td class="name">{p.name}</td>
                      <td>
                        <RuleList rules={p.allow} />
                      </td>
                      <td>
                        <RuleList rules={p.deny} />
                      </td>
                      <td>
                        <Time value={p.createdAt} />
                        {p.createdBy && (
                          <>
                            <br />
                            <span class="muted">by </span>
                            <Ident id={p.createdBy} />
                          </>
                        )}
                      </td>
                      <td class="row-actions">
                        <span class="actions">
                          <button type="button" class="secondary small" onClick={() => editPolicy(p.name)}>
                            Edit policy {p.name}
                          </button>
                          <button type="button" class="danger small" onClick={() => void deletePolicy(p.name)}>
                            Delete policy {p.name}
                          </button>
                        </span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}

          <h3>Runtime identities</h3>
          {access.identities.length === 0 ? (
            <p class="muted">No runtime identities in {access.enclave}.</p>
          ) : (
            <TableWrap scrollLabel="Runtime identities, scrollable">
              <table aria-label="Runtime identities">
                <TableHead columns={['Identity', 'Privilege', 'Policy', 'Service account', 'Created', 'Actions']} />
                <tbody>
                  {access.identities.map((i) => (
                    <tr key={i.identity}>
                      <td>
                        <Ident id={i.identity} />
                      </td>
                      <td>{i.privilege || <span class="muted">—</span>}</td>
                      <td>{i.policy || <span class="muted">—</span>}</td>
                      <td>{yesNo(i.isServiceAccount)}</td>
                      <td>
                        <Time value={i.createdAt} />
                      </td>
                      <td class="row-actions">
                        <button type="button" class="danger small" onClick={() => void deleteIdentity(i.identity)}>
                          Delete identity<span class="visually-hidden"> {i.identity}</span>
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          <Alert message={listError} />
        </>
      )}

      <div class="grid-2">
        <form class="card" onSubmit={(e) => void savePolicy(e)} noValidate>
          <h3 id="rt-policy-title">Create or replace policy</h3>
          <TextField id="rt-policy-name" label="Policy name" value={policyName} onValue={setPolicyName} />
          <p id="rt-rules-help" class="hint">
            One <code>COMMAND=pattern</code> per line, for example <code>KEY:GENERATE=minio-*</code>.
          </p>
          <RulesField id="rt-policy-allow" label="Allow rules" rows={4} value={allowText} onValue={setAllowText} />
          <RulesField id="rt-policy-deny" label="Deny rules" rows={3} value={denyText} onValue={setDenyText} />
          <Alert message={policyError} />
          <div class="actions">
            <button type="submit" disabled={policyBusy}>
              Save policy
            </button>
          </div>
        </form>

        <form class="card" onSubmit={(e) => void saveIdentity(e)} noValidate>
          <h3 id="rt-identity-title">Add or replace identity</h3>
          <TextField
            id="rt-identity"
            label="Identity"
            value={identity}
            onValue={setIdentity}
            describedBy="rt-identity-help"
          >
            <p id="rt-identity-help" class="hint">
              The <code>h1:</code> form or the hex form of the identity.
            </p>
          </TextField>
          <Field id="rt-privilege" label="Privilege">
            <select
              id="rt-privilege"
              value={privilege}
              onChange={(e) => setPrivilege(e.currentTarget.value as Privilege)}
            >
              {PRIVILEGES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </Field>
          <Field id="rt-identity-policy" label="Policy">
            <input
              id="rt-identity-policy"
              list="rt-policy-names"
              value={idPolicy}
              autocomplete="off"
              spellcheck={false}
              aria-describedby="rt-identity-policy-help"
              onInput={(e) => setIdPolicy(e.currentTarget.value)}
            />
            <datalist id="rt-policy-names">
              {(access?.policies ?? []).map((p) => (
                <option key={p.name} value={p.name} />
              ))}
            </datalist>
            <p id="rt-identity-policy-help" class="hint">
              Optional: a runtime policy of this enclave to assign.
            </p>
          </Field>
          <Alert message={identityError} />
          <div class="actions">
            <button type="submit" disabled={identityBusy}>
              Save identity
            </button>
          </div>
        </form>
      </div>
    </section>
  );
}
