// The answer outbox in IndexedDB: every change is written here before it is sent, and deleted only when
// the server's acknowledgement (sent after its commit) arrives. A crash, a reload or a network loss loses
// nothing: the page resends what is left. Sequence numbers are per attempt and only ever increase.
(function () {
  "use strict";
  const DB_NAME = "skillcert-exam";

  class Outbox {
    constructor(attemptId) { this.attempt = attemptId; this.db = null; this.seq = 0; }

    async open(serverLastSeq) {
      this.db = await idb.openDB(DB_NAME, 2, {
        upgrade(db, oldVersion) {
          if (oldVersion < 1) {
            db.createObjectStore("outbox", {keyPath: ["attempt", "seq"]});
            db.createObjectStore("meta");
          }
          if (oldVersion < 2) db.createObjectStore("events", {keyPath: ["attempt", "seq"]});  // behaviour events
        },
      });
      const stored = (await this.db.get("meta", "seq:" + this.attempt)) || 0;
      const pending = await this.all();
      const maxPending = pending.reduce((m, e) => Math.max(m, e.seq), 0);
      this.seq = Math.max(stored, serverLastSeq || 0, maxPending);
      return this;
    }

    // Allocate the next sequence number (persisted first, so a crash never reuses one).
    async next(atLeast) {
      this.seq = Math.max(this.seq, atLeast || 0) + 1;
      await this.db.put("meta", this.seq, "seq:" + this.attempt);
      return this.seq;
    }

    async add(item, response, clientAt) {
      const seq = await this.next();
      const entry = {attempt: this.attempt, seq, item, response, client_at: clientAt};
      await this.db.put("outbox", entry);
      return entry;
    }

    async renumber(entry, lastSeq) {
      await this.db.delete("outbox", [this.attempt, entry.seq]);
      const seq = await this.next(lastSeq);
      const fresh = Object.assign({}, entry, {seq});
      await this.db.put("outbox", fresh);
      return fresh;
    }

    async remove(seq) { await this.db.delete("outbox", [this.attempt, seq]); }

    async all() {
      const range = IDBKeyRange.bound([this.attempt, 0], [this.attempt, Number.MAX_SAFE_INTEGER]);
      return await this.db.getAll("outbox", range);
    }
  }

  // Behaviour events (behaviour.js) ride the same database in their own store with their own sequence:
  // written before they are sent, deleted when the server acknowledges them.
  Outbox.prototype.addEvent = function (ev) {
    const add = async () => {  // one at a time: two events at once never share a sequence number
      const key = "evseq:" + this.attempt;
      const seq = ((await this.db.get("meta", key)) || 0) + 1;
      await this.db.put("meta", seq, key);
      const entry = Object.assign({attempt: this.attempt, seq}, ev);
      await this.db.put("events", entry);
      return entry;
    };
    this.evq = (this.evq || Promise.resolve()).catch(() => null).then(add);
    return this.evq;
  };
  Outbox.prototype.events = async function () {
    return await this.db.getAll("events", IDBKeyRange.bound([this.attempt, 0], [this.attempt, Number.MAX_SAFE_INTEGER]));
  };
  Outbox.prototype.removeEvents = async function (seqs) {
    for (const seq of seqs) await this.db.delete("events", [this.attempt, seq]);
  };

  window.SkillcertOutbox = Outbox;
})();
