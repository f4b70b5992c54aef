// The error classes: each with its stable `code` and its name, in httpcore's hierarchy, with
// the underlying error as `cause` and the connection's retry hint when it gives one.
import { describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionNotAvailable,
  ConnectTimeout,
  LocalProtocolError,
  NetworkError,
  PoolTimeout,
  ProtocolError,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  ResponseNotRead,
  StreamConsumed,
  TimeoutError,
  TransportError,
  UnsupportedProtocol,
  WriteError,
  WriteTimeout,
} from "../src/index.js";

type ErrorClass = new (message: string, options?: { cause?: unknown }) => Error;

// Each class, its code, and its parents below TransportError.
const transportErrors: Array<[ErrorClass, string, ErrorClass[]]> = [
  [TransportError, "ERR_TRANSPORT", []],
  [NetworkError, "ERR_NETWORK", []],
  [ConnectError, "ERR_CONNECT", [NetworkError]],
  [ReadError, "ERR_READ", [NetworkError]],
  [WriteError, "ERR_WRITE", [NetworkError]],
  [TimeoutError, "ERR_TIMEOUT", []],
  [ConnectTimeout, "ERR_CONNECT_TIMEOUT", [TimeoutError]],
  [ReadTimeout, "ERR_READ_TIMEOUT", [TimeoutError]],
  [WriteTimeout, "ERR_WRITE_TIMEOUT", [TimeoutError]],
  [PoolTimeout, "ERR_POOL_TIMEOUT", [TimeoutError]],
  [ProtocolError, "ERR_PROTOCOL", []],
  [RemoteProtocolError, "ERR_REMOTE_PROTOCOL", [ProtocolError]],
  [LocalProtocolError, "ERR_LOCAL_PROTOCOL", [ProtocolError]],
  [UnsupportedProtocol, "ERR_UNSUPPORTED_PROTOCOL", []],
  [ConnectionNotAvailable, "ERR_CONNECTION_NOT_AVAILABLE", []],
];

describe("transport errors", () => {
  it.each(transportErrors)("%o: its code and name, a TransportError", (cls, code, parents) => {
    const cause = new Error("underneath");
    const error = new cls("went wrong", { cause });
    expect(error).toMatchObject({ code, name: cls.name, message: "went wrong", cause });
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toBeInstanceOf(Error);
    for (const parent of parents) expect(error).toBeInstanceOf(parent);
    // Of no family it is not in.
    for (const [other] of transportErrors) {
      const related = other === TransportError || other === cls || parents.includes(other);
      expect([other.name, error instanceof other]).toEqual([other.name, related]);
    }
  });

  it("a retry hint is kept when given, and absent otherwise", () => {
    expect(new ReadError("x", { retry: "reused-connection" }).retry).toBe("reused-connection");
    expect(new TransportError("x", { retry: "unprocessed" }).retry).toBe("unprocessed");
    for (const error of [
      new ReadError("x"),
      new ReadError("x", {}),
      new ReadError("x", { cause: 1 }),
    ]) {
      expect(Object.hasOwn(error, "retry")).toBe(false);
      expect("retry" in error).toBe(false);
    }
  });
});

describe("body misuse errors", () => {
  it.each([
    [ResponseNotRead, "ERR_RESPONSE_NOT_READ", "ResponseNotRead"],
    [StreamConsumed, "ERR_STREAM_CONSUMED", "StreamConsumed"],
  ] as const)("%o: its code and name, not a TransportError", (cls, code, name) => {
    const error = new cls("misused");
    expect(error).toMatchObject({ code, name, message: "misused" });
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TransportError);
  });
});
