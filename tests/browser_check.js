// Runs inside each checked page (see tests/browser_check.py: PAGE_JS).
({
  charts(selector) {
    const all = [...document.querySelectorAll(selector)];
    const outer = all.filter(el => !el.parentElement || !el.parentElement.closest(selector));
    return outer.map((el, index) => {
      let best = null;
      for (const pic of el.querySelectorAll('svg, canvas, img')) {
        if (pic.parentElement.closest('svg')) continue;
        if (!pic.checkVisibility({visibilityProperty: true})) continue;
        const box = pic.getBoundingClientRect();
        const kind = pic.tagName.toLowerCase();
        let marks = 1;
        if (kind === 'svg') {
          marks = pic.querySelectorAll('path, rect, line, circle, polygon, text, image').length;
        } else if (kind === 'img') {
          marks = pic.complete && pic.naturalWidth > 0 ? 1 : 0;
        }
        if (!best || box.width * box.height > best.width * best.height) {
          best = {kind, width: box.width, height: box.height, marks};
        }
      }
      const caption = el.querySelector('figcaption');
      const named = el.querySelector('[aria-label]');
      const img = el.querySelector('img[alt]');
      const description = ((caption && caption.textContent) || (img && img.alt)
        || (named && named.getAttribute('aria-label')) || '').trim().slice(0, 200);
      return {index, kind: best ? best.kind : null, width: best ? best.width : 0,
              height: best ? best.height : 0, marks: best ? best.marks : 0, description};
    });
  },
  headings() {
    return [...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role=heading]')]
      .filter(h => h.checkVisibility())
      .map(h => ({
        element: h,
        level: h.hasAttribute('aria-level') ? Number(h.getAttribute('aria-level'))
          : (/^H[1-6]$/.test(h.tagName) ? Number(h.tagName[1]) : 2),
        text: h.textContent.replace(/\u00b6/g, '').trim().slice(0, 80),
      }));
  },
  rgb(text) {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
  },
  luminance(c) {
    const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  },
  background(el) {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      if (node instanceof SVGElement && node.tagName.toLowerCase() !== 'svg') continue;
      const c = this.rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  },
  lowContrastText() {
    const found = new Map();
    for (const text of document.querySelectorAll('svg text')) {
      if (!text.textContent.trim() || !text.checkVisibility({opacityProperty: true})) continue;
      const style = getComputedStyle(text);
      const fill = this.rgb(style.fill);
      if (!fill) continue;
      let alpha = fill.a * Number(style.fillOpacity || 1);
      for (let node = text; node.tagName.toLowerCase() !== 'svg'; node = node.parentElement) {
        alpha *= Number(getComputedStyle(node).opacity);
      }
      const back = this.background(text.closest('svg'));
      const mix = k => fill[k] * alpha + back[k] * (1 - alpha);
      const fore = {r: mix('r'), g: mix('g'), b: mix('b')};
      const [hi, lo] = [this.luminance(fore), this.luminance(back)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const bold = Number(style.fontWeight) >= 700 || style.fontWeight === 'bold';
      const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < needed) {
        const key = `${style.fill} at ${ratio.toFixed(2)}:1 (needs ${needed}:1)`;
        const seen = found.get(key) || {count: 0, example: text.textContent.trim().slice(0, 40)};
        seen.count += 1;
        found.set(key, seen);
      }
    }
    return [...found].map(([key, v]) => `${v.count} label(s) like '${v.example}' in ${key}`);
  },
  structure() {
    const tables = [...document.querySelectorAll('table')].filter(t =>
      !['presentation', 'none'].includes(t.getAttribute('role')));
    return {
      headings: this.headings().map(({level, text}) => ({level, text})),
      mains: document.querySelectorAll('main, [role=main]').length,
      tablesWithoutHeaders: tables
        .filter(t => !t.querySelector('th, [role=columnheader], [role=rowheader]'))
        .map(t => ((t.caption && t.caption.textContent) || t.textContent).trim().slice(0, 60)),
      lowContrastText: this.lowContrastText(),
    };
  },
  cropBox({selector, heading, maxHeight}) {
    const width = document.documentElement.clientWidth;
    const height = document.documentElement.scrollHeight;
    const top = el => el.getBoundingClientRect().top + window.scrollY;
    if (selector) {
      const el = document.querySelector(selector);
      if (!el) return null;
      const box = el.getBoundingClientRect();
      const y = Math.max(0, top(el) - 8);
      return {x: 0, y, width, height: Math.min(box.height + 16, maxHeight, height - y)};
    }
    if (heading) {
      const pattern = new RegExp(heading, 'i');
      const all = this.headings();
      const at = all.findIndex(h => pattern.test(h.text));
      if (at < 0) return null;
      const next = all.slice(at + 1).find(h => h.level <= all[at].level);
      const y = Math.max(0, top(all[at].element) - 8);
      const end = next ? top(next.element) - 8 : height;
      return {x: 0, y, width, height: Math.max(1, Math.min(end - y, maxHeight))};
    }
    return {x: 0, y: 0, width, height: Math.min(maxHeight, height)};
  },
})
