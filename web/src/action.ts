// What a form's or a button's request does around the call: its error and its busy state.
import { errorMessage, isSessionGone } from './api.js';

interface ActionState {
  /** Shows the action's failure; cleared when the action starts. */
  setError: (message: string) => void;
  /** True while the action runs (left out by an action that has no busy state). */
  setBusy?: (busy: boolean) => void;
  /** Stays busy after a success: for a form that closes then, so that it cannot be sent twice. */
  staysBusy?: boolean;
}

/**
 * Runs `action`: clears the error, is busy while it runs, and shows its failure, but not a 401:
 * the sign-in form takes over then.
 */
export async function runAction(
  { setError, setBusy = () => {}, staysBusy = false }: ActionState,
  action: () => Promise<void>,
): Promise<void> {
  setError('');
  setBusy(true);
  try {
    await action();
  } catch (e) {
    setBusy(false);
    if (!isSessionGone(e)) setError(errorMessage(e));
    return;
  }
  if (!staysBusy) setBusy(false);
}
