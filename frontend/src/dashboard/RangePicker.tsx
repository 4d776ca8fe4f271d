// The time range the runs' figures cover; the chosen one is pressed.
import { RANGES, type RangeKey } from "./range";

export function RangePicker({ range, onChange }: { range: RangeKey; onChange: (range: RangeKey) => void }) {
  return (
    <div className="range-picker" role="group" aria-label="Time range">
      {RANGES.map((choice) => (
        <button key={choice.key} type="button" aria-pressed={choice.key === range} title={choice.label}
          onClick={() => onChange(choice.key)}>
          {choice.key}
        </button>
      ))}
    </div>
  );
}
