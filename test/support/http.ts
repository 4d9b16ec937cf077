import { request, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from "node:http";

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One exchange through Node's own HTTP client, for raw methods, paths and bodies that fetch()
 * would refuse or normalise; `timeout` bounds the wait for the answer.
 *
 * The global agent keeps connections alive, and a server closes an idle one after its keep-alive
 * timeout (Node's: 5 s). When this process was busy past that, the close is still unread when the
 * next request picks the connection, which then fails with ECONNRESET though the server never saw
 * the request; as HTTP clients do, such a request is sent again on another connection. A reset on
 * a new connection is the server's doing and fails the exchange.
 */
export function httpExchange(target: string | RequestOptions, options: RequestOptions = {}, body?: string | Buffer): Promise<HttpAnswer> {
  const timeoutMs = options.timeout ?? (typeof target === "string" ? undefined : target.timeout);
  return new Promise((resolve, reject) => {
    const answered = (res: IncomingMessage) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    };
    const req = typeof target === "string" ? request(target, options, answered) : request({ ...target, ...options }, answered);
    req.on("timeout", () => req.destroy(new Error(`${req.method} ${req.path}: no answer in ${timeoutMs} ms`)));
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (req.reusedSocket && error.code === "ECONNRESET") httpExchange(target, options, body).then(resolve, reject);
      else reject(error);
    });
    req.end(body);
  });
}
