// node:http with a keep-alive Agent, the body gathered as a string and parsed by hand.
import { Agent, get } from "node:http";
import { run } from "./harness.mjs";

await run(({ url, connections }) => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return {
    send: () =>
      new Promise((resolve, reject) => {
        get(url, { agent }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("error", reject);
          res.on("end", () => {
            if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
            else {
              try {
                resolve(JSON.parse(text));
              } catch (err) {
                reject(err);
              }
            }
          });
        }).on("error", reject);
      }),
    close: () => agent.destroy(),
  };
});
