/**
 * A minimal external store: state lives here, outside React, so services can
 * update it and tests can read it; components subscribe with useSyncExternalStore.
 *
 * @module
 */

export type Reducer<S, A> = (state: S, action: A) => S;

export class Store<S, A> {
  private state: S;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly reducer: Reducer<S, A>,
    initial: S,
  ) {
    this.state = initial;
  }

  getState = (): S => this.state;

  dispatch = (action: A): void => {
    const next = this.reducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const l of this.listeners) l();
  };

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
