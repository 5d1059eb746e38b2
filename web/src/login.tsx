// The sign-in form, shown whenever there is no session.
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../../src/console/api-types.js';
import { errorMessage, login } from './api.js';
import { Alert, TextField, useFocusOnMount } from './ui.js';

export function LoginForm({ message, onSession }: { message: string; onSession: (s: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(message);
  const [busy, setBusy] = useState(false);
  const inputRef = useFocusOnMount<HTMLInputElement>();

  async function submit(e: Event) {
    e.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Enter the access token.');
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    setError('');
    try {
      const session = await login(value);
      setToken('');
      onSession(session);
    } catch (err) {
      setToken('');
      setBusy(false);
      setError(errorMessage(err));
      inputRef.current?.focus();
    }
  }

  return (
    <form class="card login" onSubmit={(e) => void submit(e)} aria-labelledby="login-title" noValidate>
      <h1 id="login-title">Sign in to openkes</h1>
      <p>
        Use the one-time access token that <code>kes console</code> printed when it started.
      </p>
      <TextField
        id="login-token"
        label="Access token"
        type="password"
        value={token}
        onValue={setToken}
        invalid={!!error}
        describedBy={error ? 'login-error' : undefined}
        inputRef={inputRef}
      />
      <div id="login-error">
        <Alert message={error} />
      </div>
      <div class="actions">
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </div>
    </form>
  );
}
