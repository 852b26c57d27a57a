/**
 * Short choice menus (verify level, PITR target kind) drawn by ink-select-input.
 *
 * The list is told which row is selected and never reads the keyboard itself
 * (`isFocused` off): keys stay in one place, the controller (../controller.ts),
 * as for every other view. Two input handlers would each see every key, in an
 * order Ink does not promise, and the library's keys differ from ours (1–9
 * select at once, the ends wrap around, no g/G/Home/End).
 *
 * @module
 */
import React from 'react';
import SelectInput, { type ItemProps } from 'ink-select-input';

export type { ItemProps as MenuItemProps };

/** No pointer column: the selected row shows in reverse video, as every list here. */
const NoIndicator = (): null => null;

/**
 * `items` with row `index` selected, each row drawn by `item` (it gets the
 * label and whether it is selected). Remounted when `index` changes, since the
 * library keeps its own selection and takes ours only as the initial one.
 */
export function Menu<V extends string>(p: { items: readonly { label: string; value: V }[]; index: number; item: React.FC<ItemProps> }): React.ReactElement {
  return <SelectInput key={p.index} items={[...p.items]} initialIndex={p.index} isFocused={false} indicatorComponent={NoIndicator} itemComponent={p.item} />;
}
