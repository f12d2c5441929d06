// The programme's own names for the pages (issue #28): its profile (the ProgrammeProfile setting:
// the programme's name as the notice, certificates and receipts print it, and display names for
// store account ids and award rule codes) and the love supermarket's item names for SKUs, each
// loaded once per page load and shared by every page. An admin writes these names: pages put
// them in the DOM as text only (el(), textContent, document.title), never as markup.
import { call } from './lovebank.js';

let settingsLoaded = null;  // the promise of ListSettings' values by name, once per page load

// The programme's settings (Programme.ListSettings, any principal's token) by name, e.g.
// {programmeProfile: {...}, servicePolicy: {...}}: only settings ever set. {} when the call
// fails (the pages then show what they show without settings); a failed load is tried again by
// the next caller. Settings set after the page loaded show after a reload.
export function settings(token) {
  if (!settingsLoaded) {
    settingsLoaded = call('Programme/ListSettings', {}, token)
      .then((got) => Object.assign({}, ...(got.settings || []).map((record) => record.value || {})))
      .catch(() => {
        settingsLoaded = null;
        return {};
      });
  }
  return settingsLoaded;
}

// The programme's profile as the pages use it. A programme without one (never set) has name ""
// and no display names.
class Profile {
  constructor(profile) {
    this.name = profile.name || '';
    this.town = profile.town || '';
    this.office = profile.office || '';
    this.names = new Map((profile.displayNames || []).map((named) => [named.id, named.name]));
  }

  // What people see instead of `id` (a store's account id, an award rule's code): its display
  // name in the profile, else `fallback` (by default the id itself).
  displayName(id, fallback = id) {
    return this.names.get(id) || fallback;
  }
}

// The programme's profile (see settings: loaded once per page load; never throws).
export async function programme(token) {
  return new Profile((await settings(token)).programmeProfile || {});
}

// The page's heading (its <header><h1>) and its title: the parts that are not empty, joined by
// " · ", e.g. heading('南溪镇爱心银行', '社工工作台'). As text: a name is never markup.
export function heading(...parts) {
  const text = parts.filter(Boolean).join(' · ');
  const h1 = document.querySelector('header h1');
  if (h1) h1.textContent = text;
  document.title = text;
}

// The love supermarket's catalogues (Supermarket.ListItems, public to every principal), each
// store's once per page load: store -> promise of Map(sku -> item); store -> the Map once loaded;
// and any loaded store's SKU -> item name, for entries that name SKUs but not their store (a
// refund's lines, a statement's legs).
const catalogues = new Map();
const loaded = new Map();
const anyStore = new Map();

// The catalogue of `store` as a Map(sku -> {store, sku, name, unit, price, active, stock}),
// loaded once per page load; an empty Map when the call fails (tried again by the next caller).
// Afterwards itemName answers from it.
export function catalogue(store, token) {
  if (!catalogues.has(store)) {
    catalogues.set(store, call('Supermarket/ListItems', { store }, token).then((got) => {
      const items = new Map((got.items || []).map((item) => [item.sku, item]));
      loaded.set(store, items);
      for (const item of items.values()) anyStore.set(item.sku, item.name);
      return items;
    }).catch(() => {
      catalogues.delete(store);
      return new Map();
    }));
  }
  return catalogues.get(store);
}

// The name of `sku` in the catalogue of `store` (null: any catalogue loaded so far), else the
// SKU itself. Only catalogues already loaded (see catalogue) answer.
export function itemName(sku, store = null) {
  const items = store ? loaded.get(store) : null;
  const item = items ? items.get(sku) : null;
  return (item && item.name) || anyStore.get(sku) || sku;
}
