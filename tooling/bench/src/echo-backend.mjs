// An in-memory NetworkBackend whose streams answer each request as soon as it is written:
// the pool's own costs, with no network and no server in the measurement.
const RESPONSE = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

class EchoStream {
  #pending = 0;
  #waiter = null;
  async read() {
    if (this.#pending > 0) {
      this.#pending--;
      return RESPONSE;
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }
  async write() {
    const waiter = this.#waiter;
    if (waiter === null) this.#pending++;
    else {
      this.#waiter = null;
      queueMicrotask(() => waiter(RESPONSE));
    }
  }
  async close() {}
  async startTls() {
    return this;
  }
  getExtraInfo() {
    return false;
  }
}

export const echoBackend = {
  connectTcp: async () => new EchoStream(),
  connectUnixSocket: async () => new EchoStream(),
  sleep: async () => {},
};
