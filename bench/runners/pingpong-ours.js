// Ping-pong between two Node processes through a System V segment, handing a token back and
// forth with tslab-ipc's wait/notify word (src/sync). Wired in when src/sync exists.
"use strict";
const { skip } = require("./common");

function run(ipc, seconds) {
  return skip("src/sync not available");
}

module.exports = { run };
