// Keys: the paged, searchable list, the create/import form, and a key's details (versions,
// rotate, retire a version, delete with a typed confirmation).
import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  CreateKeyRequest,
  DeleteKeyRequest,
  KeyDetails,
  KeyPage,
  RotateKeyResponse,
} from '../../src/console/api-types.js';
import { runAction } from './action.js';
import { del, errorMessage, get, isSessionGone, post, seg } from './api.js';
import { plural } from './format.js';
import { Alert, Fact, Field, Ident, StatusLine, TableHead, TableWrap, TextField, Time, useFocusOnMount } from './ui.js';

const PAGE_SIZE = 50;

export function KeysPage({ keyName }: { keyName: string | null }) {
  const [status, setStatus] = useState('');
  // The list's state lives here so that it is kept while a key's details are shown.
  const [query, setQuery] = useState('');
  const [prefix, setPrefix] = useState('');
  const [starts, setStarts] = useState<string[]>(['']);

  useEffect(() => {
    if (keyName !== null) setStatus('');
  }, [keyName]);

  return (
    <>
      <h1 tabIndex={-1}>Keys</h1>
      <StatusLine message={status} />
      {keyName === null ? (
        <KeyList
          query={query}
          setQuery={setQuery}
          prefix={prefix}
          setPrefix={setPrefix}
          starts={starts}
          setStarts={setStarts}
          setStatus={setStatus}
        />
      ) : (
        <KeyDetailsView
          key={keyName}
          name={keyName}
          setStatus={setStatus}
          onDeleted={(name) => {
            setStatus(`Deleted key ${name}`);
            location.hash = '#/keys';
          }}
        />
      )}
    </>
  );
}

interface ListProps {
  query: string;
  setQuery: (q: string) => void;
  prefix: string;
  setPrefix: (p: string) => void;
  starts: string[];
  setStarts: (s: string[]) => void;
  setStatus: (s: string) => void;
}

function KeyList({ query, setQuery, prefix, setPrefix, starts, setStarts, setStatus }: ListProps) {
  const [page, setPage] = useState<KeyPage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  const [creating, setCreating] = useState(false);
  const createButton = useRef<HTMLButtonElement>(null);
  const focusCreate = useRef(false);
  const start = starts[starts.length - 1] ?? '';

  // Search: debounced; a new prefix starts at the first page.
  useEffect(() => {
    if (query === prefix) return;
    const t = setTimeout(() => {
      setPrefix(query);
      setStarts(['']);
    }, 250);
    return () => clearTimeout(t);
  }, [query, prefix]);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError('');
    const params = new URLSearchParams({ prefix, continue: start, limit: String(PAGE_SIZE) });
    get<KeyPage>(`/api/keys?${params}`)
      .then((p) => {
        if (!live) return;
        setPage(p);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (!live || isSessionGone(e)) return;
        setLoading(false);
        setError(errorMessage(e));
      });
    return () => {
      live = false;
    };
  }, [prefix, start, reload]);

  useEffect(() => {
    if (!creating && focusCreate.current) {
      focusCreate.current = false;
      createButton.current?.focus();
    }
  }, [creating]);

  function closeCreate() {
    focusCreate.current = true;
    setCreating(false);
  }

  const keys = page?.keys ?? [];
  const first = keys[0];

  return (
    <section aria-label="Key list">
      <div class="toolbar">
        <TextField
          id="key-search"
          label="Search keys"
          type="search"
          inline
          value={query}
          onValue={setQuery}
          placeholder="Name prefix"
        />
        {!creating && (
          <button
            type="button"
            ref={createButton}
            onClick={() => {
              setStatus('');
              setCreating(true);
            }}
          >
            Create key
          </button>
        )}
      </div>

      {creating && (
        <CreateKeyForm
          onCancel={closeCreate}
          onCreated={(name) => {
            closeCreate();
            setStatus(`Created key ${name}`);
            setReload((n) => n + 1);
          }}
        />
      )}

      <Alert message={error} />

      {loading && !page && <p class="muted">Loading keys…</p>}

      {page && keys.length === 0 && !error && (
        <p class="empty-state">
          {starts.length > 1 ? 'No more keys.' : prefix ? `No keys match '${prefix}'` : 'There are no keys yet.'}
        </p>
      )}

      {keys.length > 0 && (
        <TableWrap scrollLabel="Keys, scrollable">
          <table aria-label="Keys" aria-busy={loading ? 'true' : undefined}>
            <TableHead columns={['Name', 'Version', 'Algorithm', 'Created']} />
            <tbody>
              {keys.map((k) => (
                <tr key={k.name}>
                  <td class="name">
                    <a href={`#/keys/${seg(k.name)}`}>{k.name}</a>
                  </td>
                  <td class="num">{k.version}</td>
                  <td>{k.algorithm}</td>
                  <td>
                    <Time value={k.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}

      {page && (keys.length > 0 || starts.length > 1) && (
        <div class="pager">
          {first && (
            <p class="muted">
              Showing {plural(keys.length, 'key')} from <span class="mono">{first.name}</span>
              {loading ? ' (loading…)' : ''}
            </p>
          )}
          <div class="actions">
            <button
              type="button"
              class="secondary"
              disabled={starts.length <= 1 || loading}
              onClick={() => setStarts(starts.slice(0, -1))}
            >
              Previous page
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!page.continueAt || loading}
              onClick={() => setStarts([...starts, page.continueAt])}
            >
              Next page
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function decodedLength(b64: string): number | null {
  try {
    return atob(b64).length;
  } catch {
    return null;
  }
}

function CreateKeyForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [importing, setImporting] = useState(false);
  const [material, setMaterial] = useState('');
  const [algorithm, setAlgorithm] = useState<'AES256' | 'ChaCha20'>('AES256');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const nameRef = useFocusOnMount<HTMLInputElement>();

  async function submit(e: Event) {
    e.preventDefault();
    const keyName = name.trim();
    const key = material.replace(/\s+/g, '');
    // The key material never stays in the form, whatever happens next.
    setMaterial('');
    setError('');
    if (!keyName) {
      setError('Enter a key name.');
      nameRef.current?.focus();
      return;
    }
    const body: CreateKeyRequest = { name: keyName };
    if (importing) {
      if (decodedLength(key) !== 32) {
        setError('The key material must be 32 bytes, base64-encoded (44 characters).');
        return;
      }
      body.key = key;
      body.algorithm = algorithm;
    }
    await runAction({ setError, setBusy, staysBusy: true }, async () => {
      await post<unknown>('/api/keys', body);
      onCreated(keyName);
    });
  }

  return (
    <section class="card panel" aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create key</h2>
      <form
        onSubmit={(e) => void submit(e)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onCancel();
          }
        }}
        noValidate
      >
        <TextField id="create-key-name" label="Key name" value={name} onValue={setName} inputRef={nameRef} />
        <div class="field check">
          <input
            id="create-key-import"
            type="checkbox"
            checked={importing}
            onChange={(e) => setImporting(e.currentTarget.checked)}
          />
          <label for="create-key-import">Import existing key material</label>
        </div>
        {importing && (
          <>
            <TextField
              id="create-key-material"
              label="Key material (base64, 32 bytes)"
              type="password"
              value={material}
              onValue={setMaterial}
            />
            <Field id="create-key-algorithm" label="Algorithm">
              <select
                id="create-key-algorithm"
                value={algorithm}
                onChange={(e) => setAlgorithm(e.currentTarget.value === 'ChaCha20' ? 'ChaCha20' : 'AES256')}
              >
                <option value="AES256">AES256</option>
                <option value="ChaCha20">ChaCha20</option>
              </select>
            </Field>
          </>
        )}
        <Alert message={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Create
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

type Confirming = { kind: 'delete' } | { kind: 'retire'; version: number } | null;

interface DetailsProps {
  name: string;
  setStatus: (s: string) => void;
  onDeleted: (name: string) => void;
}

function KeyDetailsView({ name, setStatus, onDeleted }: DetailsProps) {
  const [details, setDetails] = useState<KeyDetails | null>(null);
  const [loadError, setLoadError] = useState('');
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState('');
  const [versionError, setVersionError] = useState('');
  const live = useRef(true);

  async function load(): Promise<void> {
    const d = await get<KeyDetails>(`/api/keys/${seg(name)}`);
    if (!live.current) return;
    setDetails(d);
    setLoadError('');
  }

  useEffect(() => {
    live.current = true;
    load().catch((e: unknown) => {
      if (live.current && !isSessionGone(e)) setLoadError(errorMessage(e));
    });
    return () => {
      live.current = false;
    };
  }, [name]);

  /** After a change: the details again, then the message (so both show together). */
  async function reloadThenSay(message: string) {
    try {
      await load();
    } catch (e) {
      if (!isSessionGone(e)) setLoadError(errorMessage(e));
    }
    if (live.current) setStatus(message);
  }

  function back() {
    location.hash = '#/keys';
  }

  async function rotate() {
    setConfirming(null);
    setVersionError('');
    await runAction({ setError: setActionError, setBusy }, async () => {
      const r = await post<RotateKeyResponse>(`/api/keys/${seg(name)}/rotate`, {});
      await reloadThenSay(`Rotated ${name} to version ${r.version}`);
    });
  }

  async function retire(version: number) {
    setActionError('');
    await runAction({ setError: setVersionError, setBusy }, async () => {
      await del(`/api/keys/${seg(name)}/versions/${version}`, {});
      setConfirming(null);
      await reloadThenSay(`Retired version ${version} of ${name}`);
    });
  }

  const versions = details?.versions ?? [];

  return (
    <section aria-labelledby="key-title" class="details">
      <div class="toolbar">
        <button type="button" class="secondary" onClick={back}>
          Back to keys
        </button>
      </div>
      <h2 id="key-title" tabIndex={-1} data-focus-heading class="break">
        {name}
      </h2>
      <Alert message={loadError} />
      {!details && !loadError && <p class="muted">Loading key…</p>}
      {details && (
        <>
          <dl class="facts">
            <Fact label="Latest version">{details.version}</Fact>
            <Fact label="Algorithm">{details.algorithm}</Fact>
            <Fact label="Created at">
              <Time value={details.createdAt} />
            </Fact>
            <Fact label="Created by">
              <Ident id={details.createdBy} />
            </Fact>
          </dl>

          <div class="actions">
            <button type="button" disabled={busy} onClick={() => void rotate()}>
              Rotate key
            </button>
            {confirming?.kind !== 'delete' && (
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() => {
                  setActionError('');
                  setStatus('');
                  setConfirming({ kind: 'delete' });
                }}
              >
                Delete key
              </button>
            )}
          </div>
          <Alert message={actionError} />

          {confirming?.kind === 'delete' && (
            <DeleteKeyForm
              name={name}
              onCancel={() => setConfirming(null)}
              onDeleted={() => onDeleted(name)}
            />
          )}

          <h3>Versions</h3>
          <TableWrap scrollLabel="Versions, scrollable">
            <table aria-label="Versions">
              <TableHead columns={['Version', 'Algorithm', 'Created', 'Created by', 'Actions']} />
              <tbody>
                {[...versions].reverse().map((v) => (
                  <tr key={v.version}>
                    <td class="num">{v.version}</td>
                    <td>{v.algorithm}</td>
                    <td>
                      <Time value={v.createdAt} />
                    </td>
                    <td>
                      <Ident id={v.createdBy} />
                    </td>
                    <td class="row-actions">
                      {confirming?.kind === 'retire' && confirming.version === v.version ? (
                        <span class="confirm">
                          <span>Retire version {v.version}?</span>
                          <RetireConfirm
                            busy={busy}
                            onRetire={() => void retire(v.version)}
                            onCancel={() => setConfirming(null)}
                          />
                        </span>
                      ) : (
                        <button
                          type="button"
                          class="secondary small"
                          disabled={versions.length <= 1 || busy}
                          title={versions.length <= 1 ? 'The only version of a key cannot be retired' : undefined}
                          onClick={() => {
                            setVersionError('');
                            setStatus('');
                            setConfirming({ kind: 'retire', version: v.version });
                          }}
                        >
                          Retire version {v.version}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <Alert message={versionError} />
        </>
      )}
    </section>
  );
}

function RetireConfirm({ busy, onRetire, onCancel }: { busy: boolean; onRetire: () => void; onCancel: () => void }) {
  const ref = useFocusOnMount<HTMLButtonElement>();
  return (
    <span
      class="actions"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onCancel();
        }
      }}
    >
      <button type="button" class="danger small" ref={ref} disabled={busy} onClick={onRetire}>
        Retire
      </button>
      <button type="button" class="secondary small" onClick={onCancel}>
        Cancel
      </button>
    </span>
  );
}

function DeleteKeyForm({ name, onCancel, onDeleted }: { name: string; onCancel: () => void; onDeleted: () => void }) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const ref = useFocusOnMount<HTMLInputElement>();
  const matches = typed === name;

  async function submit(e: Event) {
    e.preventDefault();
    if (!matches || busy) return;
    await runAction({ setError, setBusy, staysBusy: true }, async () => {
      const body: DeleteKeyRequest = { confirm: typed };
      await del(`/api/keys/${seg(name)}`, body);
      onDeleted();
    });
  }

  return (
    <form
      class="card panel danger-zone"
      aria-labelledby="delete-key-title"
      onSubmit={(e) => void submit(e)}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onCancel();
        }
      }}
    >
      <h3 id="delete-key-title">Delete key {name}</h3>
      <p id="delete-key-help">Type the key name to delete it and all its versions</p>
      <TextField
        id="delete-key-confirm"
        label={`Type ${name} to confirm`}
        value={typed}
        onValue={setTyped}
        describedBy="delete-key-help"
        inputRef={ref}
      />
      <Alert message={error} />
      <div class="actions">
        <button type="submit" class="danger" disabled={!matches || busy}>
          Delete
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
