// A terminal progress bar for the examples: one line redrawn with \r on a TTY, only a final line otherwise (logs, CI, pipes).

/**
 * `progressBar(total, { label, width, stream, minIntervalMs })` returns `{ update(done, info?), finish(info?) }`.
 * On a TTY, `update` redraws the bar in place (at most every `minIntervalMs`, so a fast loop does not spend its time
 * writing to the terminal) and `finish` ends the line. When the stream is not a TTY, `update` writes nothing and
 * `finish` writes the finished bar once, so a log file gets one line instead of a thousand carriage returns.
 */
export function progressBar(total, { label = '', width = 30, stream = process.stderr, minIntervalMs = 50 } = {}) {
  const tty = Boolean(stream.isTTY);
  let lastDraw = -Infinity;
  let drawnLength = 0;

  const render = (done, info) => {
    const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
    const filled = Math.round(fraction * width);
    const percent = String(Math.round(fraction * 100)).padStart(3);
    const line = `${label}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}% ${info}`.trimEnd();
    // a line longer than the terminal wraps, and \r then only returns to the start of the last row
    const columns = tty && stream.columns > 1 ? stream.columns - 1 : Infinity;
    return line.length > columns ? line.slice(0, columns) : line;
  };
  const draw = (line) => {
    // blank out what is left of a longer previous line
    stream.write(`\r${line}${' '.repeat(Math.max(0, drawnLength - line.length))}`);
    drawnLength = line.length;
  };

  return {
    update(done, info = '') {
      if (!tty) return;
      const now = Date.now();
      if (done < total && now - lastDraw < minIntervalMs) return;
      lastDraw = now;
      draw(render(done, info));
    },
    finish(info = '') {
      const line = render(total, info);
      if (tty) {
        draw(line);
        stream.write('\n');
      } else stream.write(`${line}\n`);
    },
  };
}
