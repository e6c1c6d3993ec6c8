/* Embed the KoKi map widget: put
 *   <script src="https://SERVICE/embed.js" async></script>
 * where the widget should appear. Optional attributes on that script tag:
 *   data-lang="en"        English instead of German
 *   data-height="720"     height in CSS pixels (default 720; at most 90 % of the window)
 *   data-target="some-id" insert into the element with this id instead of after the script
 * It inserts one responsive <iframe> (full width) that may ask for the position only when the
 * family clicks "In meiner Nähe"; no cookies, nothing else is loaded into the host page. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var lang = script.getAttribute('data-lang') === 'en' ? 'en' : 'de';
  var height = parseInt(script.getAttribute('data-height'), 10);
  if (!(height >= 320 && height <= 4000)) { height = 720; }
  var src = new URL('./', script.src);
  src.searchParams.set('embed', '1');
  if (lang === 'en') { src.searchParams.set('lang', 'en'); }

  var frame = document.createElement('iframe');
  frame.src = src.toString();
  frame.title = lang === 'en' ? 'KoKi offices in Bavaria: map and search'
    : 'KoKi-Stellen in Bayern: Karte und Suche';
  frame.setAttribute('allow', 'geolocation');
  frame.setAttribute('loading', 'lazy');
  frame.referrerPolicy = 'no-referrer';
  frame.style.display = 'block';
  frame.style.width = '100%';
  frame.style.maxWidth = '100%';
  frame.style.border = '0';
  frame.style.height = 'min(' + height + 'px, 90vh)';
  frame.style.minHeight = '320px';

  var target = script.getAttribute('data-target');
  var host = target && document.getElementById(target);
  if (host) {
    host.appendChild(frame);
  } else if (script.parentNode) {
    script.parentNode.insertBefore(frame, script.nextSibling);
  }
}());
