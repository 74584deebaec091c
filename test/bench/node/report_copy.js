#!/usr/bin/env node
// test/bench/node/report_copy.js — the benchmark's "what a user writes today":
// MangoPay's official Node.js SDK creates a legacy TRANSACTIONS report, polls
// it until READY_FOR_DOWNLOAD, then the CSV is downloaded (streamed) and
// loaded into a local table with COPY ... FROM STDIN through the pg package
// (pg-copy-streams).  No row is held in memory: the HTTP response is piped
// straight into COPY.
//
// Configuration (environment):
//   MP_BASE_URL        API base URL (e.g. http://127.0.0.1:18089)
//   MP_CLIENT_ID       ClientId
//   MP_API_KEY         API key
//   REPORT_FILTERS     JSON object: the report's Filters (AfterDate, BeforeDate, ...)
//   REPORT_COLUMNS     JSON array of column names
//   TARGET_TABLE       local table to COPY into (must exist, columns in the report's order)
//   POLL_MS            wait between two status reads (default 1000)
//   TIMEOUT_S          give up after this many seconds (default 900)
//   PGHOST/PGPORT/PGUSER/PGDATABASE   where to load (libpq-style, read by pg)
//
// Prints one JSON line: {"rows":..,"report_id":..,"polls":..,"s_ready":..,"s_total":..}
'use strict';

const http = require('http');
const https = require('https');
const { pipeline } = require('stream/promises');
const mangopay = require('mangopay2-nodejs-sdk');
const { Client } = require('pg');
const { from: copyFrom } = require('pg-copy-streams');

function env(name, dflt) {
    const v = process.env[name];
    if (v === undefined || v === '') {
        if (dflt === undefined) throw new Error(`${name} is not set`);
        return dflt;
    }
    return v;
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

function download(url) {
    return new Promise((resolve, reject) => {
        const get = url.startsWith('https:') ? https.get : http.get;
        const req = get(url, (res) => {
            if (res.statusCode !== 200) {
                res.resume();
                reject(new Error(`download answered HTTP ${res.statusCode}`));
                return;
            }
            resolve(res);
        });
        req.on('error', reject);
    });
}

async function main() {
    const t0 = process.hrtime.bigint();
    const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const api = new mangopay({
        clientId: env('MP_CLIENT_ID'),
        clientApiKey: env('MP_API_KEY'),
        baseUrl: env('MP_BASE_URL'),
        // the SDK prints every failed call with console.error by default
        errorHandler: (msg, err) => console.error('mangopay:', msg, JSON.stringify(err)),
    });
    const pollMs = Number(env('POLL_MS', '1000'));
    const timeoutS = Number(env('TIMEOUT_S', '900'));
    const table = env('TARGET_TABLE');

    const pg = new Client();
    await pg.connect();
    try {
        // 1. create the report (the SDK fetches its OAuth token first)
        let report = await api.Reports.create({
            ReportType: 'TRANSACTIONS',
            DownloadFormat: 'CSV',
            Sort: 'CreationDate:ASC',
            Preview: false,
            Filters: JSON.parse(env('REPORT_FILTERS')),
            Columns: JSON.parse(env('REPORT_COLUMNS')),
        });
        const id = report.Id;

        // 2. poll until it is ready
        let polls = 0;
        while (report.Status !== 'READY_FOR_DOWNLOAD') {
            if (report.Status === 'FAILED' || report.Status === 'EXPIRED')
                throw new Error(`report ${id} is ${report.Status}: ${report.ResultCode} ${report.ResultMessage}`);
            if (secs() > timeoutS)
                throw new Error(`report ${id} not ready after ${timeoutS} s`);
            await sleep(pollMs);
            report = await api.Reports.get(id);
            polls++;
        }
        const sReady = secs();

        // 3. download the CSV (a signed URL: no Authorization header) and COPY it as it streams
        const body = await download(report.DownloadURL);
        const copy = pg.query(copyFrom(
            `COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER true)`));
        await pipeline(body, copy);

        console.log(JSON.stringify({ rows: Number(copy.rowCount), report_id: id, polls,
                                     s_ready: +sReady.toFixed(3), s_total: +secs().toFixed(3) }));
    } finally {
        await pg.end();
    }
}

main().catch((e) => {
    console.error('report_copy.js:', e && (e.stack || JSON.stringify(e)));
    process.exit(1);
});
