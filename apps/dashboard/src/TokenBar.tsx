/** Asks for the operator token once, checks it with the coordinator, and says where things stand. */
import { useState, type FormEvent } from 'react';
import { useStoreState } from '@tabswarm/ui';
import { useServices } from './services.ts';

export function TokenBar() {
  const { tokens, api } = useServices();
  const state = useStoreState(tokens);
  const [draft, setDraft] = useState('');

  const submit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const token = draft.trim();
    if (token === '') return;
    tokens.enter(token);
    setDraft('');
    void api.verifyToken(token).then(
      (result) => {
        if (result === 'accepted') tokens.accept(token);
        else if (result.isAuth)
          tokens.refuse(`The coordinator refused this operator token (${result.status}): ${result.message}.`);
        else tokens.unchecked(token, `Could not check the token: ${result.message}`);
      },
      (error: unknown) => tokens.unchecked(token, `Could not check the token: ${String(error)}`),
    );
  };

  if (state.token !== null) {
    return (
      <div className="token-bar" data-testid="token-bar" data-token-status={state.status}>
        <span className={`badge token-${state.status}`} data-testid="token-status">
          {state.status === 'accepted'
            ? 'operator'
            : state.status === 'checking'
              ? 'checking token…'
              : 'operator (token not checked)'}
        </span>
        {state.message !== null && <span className="detail">{state.message}</span>}
        <button type="button" className="button small" onClick={() => tokens.forget()}>
          Forget token
        </button>
      </div>
    );
  }

  return (
    <form className="token-bar" onSubmit={submit} data-testid="token-bar" data-token-status={state.status}>
      <label htmlFor="operator-token">Operator token</label>
      <input
        id="operator-token"
        data-testid="token-input"
        type="password"
        autoComplete="off"
        spellCheck={false}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        aria-describedby={state.status === 'refused' ? 'token-error' : undefined}
        aria-invalid={state.status === 'refused' || undefined}
      />
      <button
        type="submit"
        className="button small primary"
        data-testid="token-submit"
        disabled={draft.trim() === ''}
      >
        Use token
      </button>
      {state.status === 'refused' && state.message !== null && (
        <p className="error" id="token-error" role="alert" data-testid="token-error">
          {state.message} Check <code>&lt;data dir&gt;/operator-token</code> on the coordinator and enter it
          again.
        </p>
      )}
    </form>
  );
}
