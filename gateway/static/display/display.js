// Canaduck wall display: the city on screen is followed live (a GraphQL subscription over
// WebSocket, graphql-transport-ws: the gateway pushes only changes), and the next city comes
// every refresh. When the WebSocket cannot be opened or drops, the page polls instead: one
// POST /graphql per refresh, and tries the WebSocket again at the next refresh.
// Settings come from the <body> data- attributes the gateway rendered. No dependencies.
"use strict";

(function () {
  const body = document.body;
  const config = {
    cities: JSON.parse(body.dataset.cities),
    lang: body.dataset.lang === "en" ? "en" : "fr",
    refreshMs: Number(body.dataset.refreshSeconds) * 1000,
    endpoint: body.dataset.endpoint,
    query: body.dataset.query,
    subscription: body.dataset.subscription,
  };
  const requestTimeoutMs = Math.min(15000, config.refreshMs * 0.8);
  // Older than this, the gateway's own cache age is worth telling (fresh data says nothing).
  const tellAgeAfterSeconds = 60;

  const TEXT = {
    fr: {
      cities: "Villes affichées",
      joke: "La blague du moment",
      humidity: "Humidité",
      wind: "Vent",
      localTime: "heure locale",
      weatherDown: "Météo momentanément indisponible",
      jokeDown: "Blague momentanément indisponible",
      bothDown: "Services momentanément indisponibles",
      offline: "Passerelle injoignable",
      noWeather: "Pas de météo pour le moment",
      unknownCity: (city) => `Ville inconnue : ${city}`,
      updatedAt: (time) => `Mis à jour à ${time}`,
      age: (minutes) =>
        minutes < 1 ? "Données de moins d’une minute" : `Données d’il y a ${minutes} min`,
      simulated: "Relevé simulé",
      source: (name) => `Source : ${name}`,
      live: "En direct",
      polling: "Actualisation périodique",
    },
    en: {
      cities: "Cities shown",
      joke: "Joke of the moment",
      humidity: "Humidity",
      wind: "Wind",
      localTime: "local time",
      weatherDown: "Weather temporarily unavailable",
      jokeDown: "Joke temporarily unavailable",
      bothDown: "Services temporarily unavailable",
      offline: "Gateway unreachable",
      noWeather: "No weather for now",
      unknownCity: (city) => `Unknown city: ${city}`,
      updatedAt: (time) => `Updated at ${time}`,
      age: (minutes) => (minutes < 1 ? "Data under a minute old" : `Data ${minutes} min old`),
      simulated: "Simulated reading",
      source: (name) => `Source: ${name}`,
      live: "Live",
      polling: "Periodic refresh",
    },
  }[config.lang];

  const locale = config.lang === "fr" ? "fr-FR" : "en-GB";
  const number = (options) => new Intl.NumberFormat(locale, options);
  const format = {
    degrees: number({ maximumFractionDigits: 0 }),
    percent: number({ style: "percent", maximumFractionDigits: 0 }),
    speed: number({ style: "unit", unit: "kilometer-per-hour", maximumFractionDigits: 0 }),
    clock: new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }),
    region: (code) => {
      try {
        return new Intl.DisplayNames([locale], { type: "region" }).of(code) || code;
      } catch {
        return code; // an older browser, or not a region code: the code is still useful
      }
    },
  };

  const $ = (id) => document.getElementById(id);
  const view = {
    content: $("content"),
    rotation: $("rotation"),
    clock: $("clock"),
    city: $("city"),
    place: $("place"),
    sky: $("sky"),
    temperature: $("temperature"),
    condition: $("condition"),
    humidity: $("humidity"),
    wind: $("wind"),
    unavailable: $("weather-unavailable"),
    joke: $("joke"),
    notice: $("notice"),
    freshness: $("freshness"),
    source: $("source"),
    mode: $("mode"),
    progress: $("progress"),
  };

  // What is on screen, and the last answer per city (shown again, with its age, when the
  // gateway cannot be reached). An entry is {city, weather, joke, receivedAt,
  // serverAgeSeconds, stale}, or {city, empty: true} when there is nothing to show.
  const state = { index: -1, updates: 0, shown: null, offline: false, lastByCity: new Map() };

  function skyOf(code) {
    const c = String(code || "").toLowerCase();
    if (/thunder|storm|lightning/.test(c)) return "storm";
    if (/snow|sleet|hail|ice|flurr/.test(c)) return "snow";
    if (/rain|drizzle|shower/.test(c)) return "rain";
    if (/fog|mist|haze/.test(c)) return "fog";
    if (/partly|few|scattered|broken/.test(c)) return "partly";
    if (/cloud|overcast/.test(c)) return "cloudy";
    if (/clear|sun/.test(c)) return "clear";
    return "unknown";
  }

  function localTime(observedAt) {
    // observedAt carries the city's own offset: its hh:mm is the local time there.
    const match = /T(\d{2}):(\d{2})/.exec(String(observedAt || ""));
    return match ? `${match[1]}:${match[2]}` : null;
  }

  // French puts a space before ? ! : ; and inside « »; a narrow no-break space keeps the
  // mark from wrapping alone onto the next line of a large-type joke.
  function typeset(text) {
    if (config.lang !== "fr") return text;
    return text.replace(/\s+([?!:;»])/g, "\u202f$1").replace(/«\s+/g, "«\u202f");
  }

  function setLabels() {
    view.rotation.setAttribute("aria-label", TEXT.cities);
    $("joke-title").textContent = TEXT.joke;
    $("humidity-label").textContent = TEXT.humidity;
    $("wind-label").textContent = TEXT.wind;
    view.unavailable.textContent = TEXT.noWeather;
    view.rotation.replaceChildren(
      ...config.cities.map((city) => {
        const item = document.createElement("li");
        item.textContent = city;
        return item;
      }),
    );
    view.rotation.hidden = config.cities.length < 2;
  }

  function markCurrent(index) {
    [...view.rotation.children].forEach((item, i) => {
      if (i === index) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    });
  }

  function render(entry) {
    const weather = entry.weather;
    view.content.dataset.state = "shown";
    view.content.setAttribute("aria-busy", "false");
    view.content.dataset.weather = weather ? "shown" : "missing";
    view.content.dataset.joke = entry.joke ? "shown" : "missing";
    view.city.textContent = entry.city; // as the screen's owner wrote it, like the rotation
    markCurrent(config.cities.indexOf(entry.city));
    if (weather) {
      const time = localTime(weather.observedAt);
      view.place.textContent = [format.region(weather.country), time && `${TEXT.localTime} ${time}`]
        .filter(Boolean)
        .join(" · ");
      const degrees = document.createElement("span");
      degrees.className = "value";
      degrees.textContent = format.degrees.format(weather.temperature);
      const unit = document.createElement("span");
      unit.className = "unit";
      unit.textContent = "°C";
      view.temperature.replaceChildren(degrees, unit);
      view.condition.textContent = weather.condition;
      view.humidity.textContent = format.percent.format(weather.humidity / 100);
      view.wind.textContent = format.speed.format(weather.windKph);
      const sky = skyOf(weather.conditionCode);
      view.sky.setAttribute("href", `#sky-${sky}`);
      body.dataset.sky = sky;
      view.source.textContent =
        weather.source === "simulated" ? TEXT.simulated : TEXT.source(weather.source);
    } else {
      view.place.textContent = "";
      body.dataset.sky = "unknown";
      view.source.textContent = "";
    }
    view.joke.textContent = typeset(entry.joke || "");
    state.shown = entry;
  }

  function showFreshness() {
    const entry = state.shown;
    if (!entry || entry.empty) {
      view.freshness.textContent = "";
      return;
    }
    const ageSeconds = (Date.now() - entry.receivedAt) / 1000 + entry.serverAgeSeconds;
    const tellAge = state.offline || entry.stale || entry.serverAgeSeconds >= tellAgeAfterSeconds;
    view.freshness.textContent = tellAge
      ? TEXT.age(Math.floor(ageSeconds / 60))
      : TEXT.updatedAt(format.clock.format(new Date(entry.receivedAt)));
  }

  function tick() {
    view.clock.textContent = format.clock.format(new Date());
    showFreshness();
  }

  function restartProgress() {
    view.progress.classList.remove("running");
    void view.progress.offsetWidth; // reflow, so the animation starts over
    view.progress.style.animationDuration = `${config.refreshMs}ms`;
    view.progress.classList.add("running");
  }

  // How old the gateway says the weather is: extensions.sources (cache metadata) and
  // STALE_DATA errors carry ageSeconds; both are optional.
  function serverAge(answer) {
    const ages = [];
    let stale = false;
    const sources = (answer.extensions && answer.extensions.sources) || {};
    const weatherSource = sources.weather;
    if (weatherSource && typeof weatherSource.ageSeconds === "number") {
      ages.push(weatherSource.ageSeconds);
      stale = weatherSource.cache === "stale";
    }
    for (const error of answer.errors || []) {
      const extensions = error.extensions || {};
      if (extensions.code === "STALE_DATA") {
        stale = true;
        if (typeof extensions.ageSeconds === "number") ages.push(extensions.ageSeconds);
      }
    }
    return { seconds: ages.length ? Math.max(...ages) : 0, stale };
  }

  async function ask(city) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
    try {
      const response = await fetch(config.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          query: config.query,
          operationName: "Display",
          variables: { city, lang: config.lang.toUpperCase() },
        }),
        cache: "no-store",
        credentials: "same-origin",
        signal: controller.signal,
      });
      const answer = await response.json(); // a proxy's HTML error page throws: offline
      if (!answer || typeof answer !== "object" || !("data" in answer)) {
        throw new Error(`no GraphQL data (HTTP ${response.status})`);
      }
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  function failedPart(answer, part) {
    return (answer.errors || []).find(
      (error) =>
        !(error.extensions && error.extensions.code === "STALE_DATA") && // shown, with its age
        Array.isArray(error.path) &&
        error.path[0] === "fullinfo" &&
        (error.path[1] === part || error.path.length === 1),
    );
  }

  function notice(text) {
    view.notice.textContent = text || "";
  }

  function showLastKnown(city, orEmpty) {
    const last = state.lastByCity.get(city);
    if (last) render(last);
    else if (orEmpty) render({ city, weather: null, joke: null, empty: true });
  }

  function apply(city, answer) {
    state.offline = false;
    const info = answer.data && answer.data.fullinfo;
    const notFound = (answer.errors || []).some(
      (error) => error.extensions && error.extensions.code === "CITY_NOT_FOUND",
    );
    const weather = info && info.weather;
    const joke = info && info.joke;
    if (notFound) {
      render({ city, weather: null, joke, receivedAt: Date.now(), serverAgeSeconds: 0 });
      notice(TEXT.unknownCity(city));
      return;
    }
    if (!weather && !joke) {
      showLastKnown(city, true);
      notice(TEXT.bothDown);
      return;
    }
    const age = serverAge(answer);
    const entry = {
      city,
      weather,
      joke,
      receivedAt: Date.now(),
      serverAgeSeconds: age.seconds,
      stale: age.stale,
    };
    state.lastByCity.set(city, entry);
    render(entry);
    if (!weather || failedPart(answer, "weather")) notice(TEXT.weatherDown);
    else if (!joke || failedPart(answer, "joke")) notice(TEXT.jokeDown);
    else notice("");
  }

  function counted() {
    state.updates += 1;
    body.dataset.updates = String(state.updates); // lets a test (or a curious operator) follow
    tick();
  }

  function showMode(mode) {
    body.dataset.mode = mode;
    view.mode.textContent = TEXT[mode];
  }

  // The live connection: one WebSocket, one subscription at a time (the city on screen).
  const live = { socket: null, ready: false, connecting: false, city: null, id: 0 };
  const connectTimeoutMs = 5000;

  function connectLive() {
    if (live.connecting) return Promise.resolve(false); // one attempt at a time
    live.connecting = true;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok) => {
        if (!settled) {
          settled = true;
          live.connecting = false;
          resolve(ok);
        }
      };
      let socket;
      try {
        const scheme = location.protocol === "https:" ? "wss:" : "ws:";
        socket = new WebSocket(`${scheme}//${location.host}${config.endpoint}`, "graphql-transport-ws");
      } catch (error) {
        console.warn("canaduck display: no WebSocket", error);
        settle(false);
        return;
      }
      const timer = setTimeout(() => {
        settle(false);
        socket.close();
      }, connectTimeoutMs);
      socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init" }));
      socket.onmessage = (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (message.type === "connection_ack") {
          clearTimeout(timer);
          live.socket = socket;
          live.ready = true;
          showMode("live");
          settle(true);
        } else if (message.type === "ping") {
          socket.send(JSON.stringify({ type: "pong" }));
        } else if (message.type === "next" && message.id === String(live.id) && live.city) {
          apply(live.city, message.payload);
          counted();
        } else if (message.type === "error" && message.id === String(live.id)) {
          dropLive(); // refused (a limit, say): poll until the next attempt
        }
      };
      socket.onclose = () => {
        clearTimeout(timer);
        settle(false);
        if (live.socket === socket) {
          dropLive(); // polls from the next refresh on, unless this brings it back first
          setTimeout(resumeLive, 1000 + Math.random() * 4000); // spread a restart's screens
        }
      };
    });
  }

  function dropLive() {
    const socket = live.socket;
    live.socket = null;
    live.ready = false;
    live.city = null;
    showMode("polling");
    if (socket && socket.readyState <= 1) socket.close();
  }

  async function resumeLive() {
    if (live.ready || !(await connectLive())) return;
    follow(config.cities[state.index]);
  }

  function follow(city) {
    if (live.city === city) return; // already followed: changes arrive on their own
    if (live.city !== null) {
      live.socket.send(JSON.stringify({ id: String(live.id), type: "complete" }));
    }
    live.id += 1;
    live.city = city;
    live.socket.send(
      JSON.stringify({
        id: String(live.id),
        type: "subscribe",
        payload: {
          query: config.subscription,
          operationName: "DisplayLive",
          variables: { city, lang: config.lang.toUpperCase() },
        },
      }),
    );
  }

  async function poll(city) {
    try {
      apply(city, await ask(city));
    } catch (error) {
      console.warn("canaduck display: gateway unreachable", error);
      state.offline = true;
      showLastKnown(city, false); // else the previous city stays, with its age
      notice(TEXT.offline);
    }
    counted();
  }

  async function update() {
    state.index = (state.index + 1) % config.cities.length;
    const city = config.cities[state.index];
    restartProgress();
    if (!live.ready && config.subscription) await connectLive();
    if (live.ready) {
      if (live.city !== city) showLastKnown(city, false); // until its first event arrives
      follow(city);
    } else {
      await poll(city);
    }
    setTimeout(update, config.refreshMs);
  }

  setLabels();
  showMode("polling");
  tick();
  setInterval(tick, 10000);
  update();
})();
