// Small shared pieces of the page.
import type { ComponentChildren, Ref } from 'preact';
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

/** A table that scrolls horizontally in a narrow window, labelled (`scrollLabel`) and a tab stop. */
export function TableWrap({ children, scrollLabel }: { children: ComponentChildren; scrollLabel: string }) {
  // A table may scroll sideways in a narrow window: the keyboard must reach the scroll area too.
  return (
    <div class="table-wrap" role="region" aria-label={scrollLabel} tabIndex={0}>
      {children}
    </div>
  );
}

/** A `.field`: a visible label for the control `id`, then that control (and any hint) as children. */
export function Field({
  id,
  label,
  inline = false,
  children,
}: {
  id: string;
  label: string;
  inline?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class={inline ? 'field inline' : 'field'}>
      <label for={id}>{label}</label>
      {children}
    </div>
  );
}

interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'password' | 'search';
  inline?: boolean;
  placeholder?: string;
  describedBy?: string;
  invalid?: boolean;
  inputRef?: Ref<HTMLInputElement>;
  /** After the input, in the field: a hint. */
  children?: ComponentChildren;
}

/** A labelled one-line text input, without autocomplete and spell check, in a `.field`. */
export function TextField(props: TextFieldProps) {
  const { id, label, value, onValue, type, inline, placeholder, describedBy, invalid, inputRef, children } = props;
  return (
    <Field id={id} label={label} inline={inline}>
      <input
        id={id}
        ref={inputRef}
        // Preact's types tie each input type to its roles: text, password and search are all text boxes.
        type={type as 'text' | undefined}
        placeholder={placeholder}
        value={value}
        autocomplete="off"
        spellcheck={false}
        aria-invalid={invalid ? true : undefined}
        aria-describedby={describedBy}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
      {children}
    </Field>
  );
}

/** One fact of a <dl>: its term and its description. */
export function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A table's header row: a column header per name. */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((name) => (
          <th key={name} scope="col">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** Yes/No as text. */
export function yesNo(b: boolean): string {
  return b ? 'Yes' : 'No';
}
