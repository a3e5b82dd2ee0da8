// A whole conference through the official JavaScript client (socket.io-client v4) with default
// options (polling first, then the websocket upgrade), plus one polling-only client (D1).
// Input comes from the environment; the summary is printed as JSON; exit 0 means every check held.
import { io } from "socket.io-client";

const { URL, CONF, HOST_TOKEN, ALEX_TOKEN, BO_TOKEN, BAD_TOKEN } = process.env;
const timeoutMs = 15000;
const checks = [];

function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, detail });
  if (!ok) throw new Error(`${name} failed: ${JSON.stringify(detail)}`);
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), timeoutMs);
    socket.once(event, (data) => { clearTimeout(t); resolve(data); });
  });
}

function connect(token, opts = {}) {
  const socket = io(URL, { auth: { token }, ...opts });
  return socket;
}

async function main() {
  // D2: a bad token is refused with connect_error data { code: "UNAUTHORIZED" }.
  const bad = connect(BAD_TOKEN, { reconnection: false });
  const err = await once(bad, "connect_error");
  check("connect_error carries UNAUTHORIZED", err.data && err.data.code === "UNAUTHORIZED", { message: err.message, data: err.data });
  bad.close();

  const host = connect(HOST_TOKEN);
  const alex = connect(ALEX_TOKEN);
  const bo = connect(BO_TOKEN, { transports: ["polling"] });
  await Promise.all([once(host, "connect"), once(alex, "connect"), once(bo, "connect")]);

  host.emit("conference:join", { conferenceId: CONF });
  const hostJoined = await once(host, "conference:joined");
  check("host joins as HOST", hostJoined.role === "HOST" && hostJoined.conferenceStatus === "ACTIVE", hostJoined);

  const presence = once(host, "audience:joined");
  alex.emit("conference:join", { conferenceId: CONF });
  const alexJoined = await once(alex, "conference:joined");
  check("alex joins as AUDIENCE", alexJoined.role === "AUDIENCE" && alexJoined.audienceCount === 1, alexJoined);
  const aj = await presence;
  check("host sees audience:joined", aj.userId === "alex" && aj.audienceCount === 1, aj);

  bo.emit("conference:join", { conferenceId: CONF });
  const boJoined = await once(bo, "conference:joined");
  check("polling-only client joins", boJoined.audienceCount === 2, boJoined);

  // Wait for the default client to finish its websocket upgrade, so both transports are used.
  if (alex.io.engine.transport.name !== "websocket") {
    await new Promise((resolve) => alex.io.engine.once("upgrade", resolve));
  }
  check("default client upgraded to websocket", alex.io.engine.transport.name === "websocket", alex.io.engine.transport.name);
  check("polling client stays on polling", bo.io.engine.transport.name === "polling", bo.io.engine.transport.name);

  const liveA = once(alex, "question:live");
  const liveB = once(bo, "question:live");
  host.emit("question:push_live", { conferenceId: CONF, questionId: "js1", duration: 3 });
  const live = await liveA;
  await liveB;
  check("question:live without correctOption", live.questionId === "js1" && live.duration === 3 && !("correctOption" in live), live);

  const tick = once(bo, "question:timer_update");
  alex.emit("vote:submit", { conferenceId: CONF, questionId: "js1", selectedOption: "b" });
  const acc = await once(alex, "vote:accepted");
  check("vote accepted, upper-cased", acc.selectedOption === "B" && acc.isCorrect === true, acc);
  bo.emit("vote:submit", { conferenceId: CONF, questionId: "js1", selectedOption: "A" });
  const acc2 = await once(bo, "vote:accepted");
  check("polling vote accepted", acc2.isCorrect === false, acc2);
  alex.emit("vote:submit", { conferenceId: CONF, questionId: "js1", selectedOption: "A" });
  const dup = await once(alex, "vote:rejected");
  check("duplicate rejected", dup.reason === "duplicate", dup);
  host.emit("vote:submit", { conferenceId: CONF, questionId: "js1", selectedOption: "A" });
  const notAudience = await once(host, "vote:rejected");
  check("host cannot vote", notAudience.reason === "not_audience", notAudience);
  alex.emit("vote:submit", { conferenceId: CONF });
  const invalid = await once(alex, "error");
  check("bad payload answers INVALID_PAYLOAD", invalid.code === "INVALID_PAYLOAD" && invalid.context.event === "vote:submit", invalid);

  const t = await tick;
  check("timer update", t.timeRemaining >= 1 && t.timeRemaining <= 2 && t.expiresAt === live.expiresAt, t);

  const closed = await once(alex, "question:closed");
  check("closed on timeout", closed.reason === "timeout" && closed.questionId === "js1", closed);
  const fin = await once(bo, "vote:final_result");
  check("final result", fin.totalVotes === 2 && fin.correctOption === "B" && fin.correctCount === 1
    && fin.optionCounts.A === 1 && fin.optionCounts.B === 1 && fin.percentageBreakdown.A === 50, fin);

  const left = once(host, "audience:left");
  alex.emit("conference:leave", { conferenceId: CONF });
  await once(alex, "conference:left");
  const al = await left;
  check("host sees audience:left", al.userId === "alex" && al.audienceCount === 1, al);

  for (const s of [host, alex, bo]) s.close();
}

main()
  .then(() => { console.log(JSON.stringify({ ok: true, checks })); process.exit(0); })
  .catch((e) => { console.log(JSON.stringify({ ok: false, error: String(e), checks })); process.exit(1); });
