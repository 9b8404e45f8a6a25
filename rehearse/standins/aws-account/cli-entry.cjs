"use strict";
// The stand-in's command line: `node cli-entry.cjs <aws arguments>` (rehearse/standins/aws runs it).
process.exitCode = require("./main.cjs").main(process.argv.slice(2));
