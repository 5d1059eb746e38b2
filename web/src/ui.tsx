// Small shared pieces of the page.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { isoTime, localDateTime, shortId } from './format.js';

/** A date and time in local time, the ISO form in its title. */
export function Time({ value }: { value: string | number }) {
  const iso = isoTime(value);
  return (
    <time dateTime={iso} title={iso}>
      {localDateTime(value)}
    </time>
  );
}

/** An identity shortened, the full value in its title. */
export function Ident({ id }: { id: string }) {
  if (!id) return <span class="muted">—</span>;
  return (
    <span class="mono" title={id}>
      {shortId(id)}
    </span>
  );
}

/** An error message, announced: rendered only when there is one. */
export function Alert({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p role="alert" class="alert">
      {message}
    </p>
  );
}

/** A page's live status line (one per page: "Created key x"). */
export function StatusLine({ message }: { message: string }) {
  return (
    <p role="status" class={message ? 'status-msg' : 'status-msg empty'}>
      {message}
    </p>
  );
}

/** A ref whose element takes the focus when the component mounts. */
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

/**
 * A table that scrolls horizontally in a narrow window. A table without links or buttons gets a
 * label and a tab stop (`scrollLabel`) so that the keyboard can scroll it too.
 */
export function TableWrap({ children, scrollLabel }: { children: ComponentChildren; scrollLabel?: string }) {
  if (scrollLabel) {
    return (
      <div class="table-wrap" role="region" aria-label={scrollLabel} tabIndex={0}>
        {children}
      </div>
    );
  }
  return <div class="table-wrap">{children}</div>;
}

/** Yes/No as text. */
export function yesNo(b: boolean): string {
  return b ? 'Yes' : 'No';
}
