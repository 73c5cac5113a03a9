// SPDX-License-Identifier: LGPL-2.1-or-later
// The Cockpit page's model of xferd (cockpit/jobs.js) against a scripted cockpit.dbus: the
// orders of signals and call replies that a browser test meets only by chance. A reply's
// handler runs after the signals that arrived with it, so a job may be removed, or change,
// while the GetAll that reads it is still on its way.
//
//   node tests/test-cockpit-model.mjs     (TAP on stdout)

const JOB = "/org/xferd/Transfer1/job/0123456789abcdef0123456789abcdef";
const JOB_IFACE = "org.xferd.Transfer1.Job";

// A bus connection whose calls wait until the test answers them, and whose signals the test
// sends when it wants.
class ScriptedClient {
    constructor() {
        this.calls = [];
        this.handlers = [];
    }

    addEventListener() {}
    close() {}

    subscribe(match, handler) {
        const entry = { match, handler };
        this.handlers.push(entry);
        return { remove: () => { this.handlers = this.handlers.filter(e => e !== entry) } };
    }

    call(path, iface, method, args) {
        return new Promise((resolve, reject) => this.calls.push({ path, iface, method, args, resolve, reject }));
    }

    signal(path, iface, member, args) {
        for (const { match, handler } of this.handlers) {
            const pathOk = match.path ? match.path === path : path.startsWith(match.path_namespace);
            if (pathOk && match.interface === iface && (!match.member || match.member === member))
                handler(path, iface, member, args);
        }
    }

    // The oldest call not answered yet, which must be `method`.
    take(method) {
        const call = this.calls.shift();
        if (!call)
            throw new Error(`no call made, expected ${method}`);
        if (call.method !== method)
            throw new Error(`call ${call.method} made, expected ${method}`);
        return call;
    }
}

let client;
globalThis.cockpit = {
    dbus: () => client,
    gettext: s => s,
    format: (fmt, ...args) => fmt.replace(/\$(\d)/g, (m, i) => String(args[i])),
    message: ex => String(ex),
    variant: (type, value) => ({ t: type, v: value }),
};

const { Transfers, MANAGER_PATH, MANAGER_IFACE } = await import("../cockpit/jobs.js");

// Lets every pending promise handler run.
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

const jobProps = state => ({ State: { t: "s", v: state }, BytesTransferred: { t: "t", v: 0 } });

// The model connected to a new scripted client (again, for a model given); list answers its
// listing calls, which must be as many as it answers (by default ListJobsCompact, no jobs).
async function started(model = new Transfers(), list = async call => (await call("ListJobsCompact")).resolve([[]]),
                       objects = {}) {
    client = new ScriptedClient();
    const done = model.start();
    client.take("GetAll").resolve([{}]);
    await list(async method => {
        await settle();
        return client.take(method);
    });
    await settle();
    client.take("GetManagedObjects").resolve([objects]);
    await done;
    if (model.status !== "ready")
        throw new Error(`status ${model.status} after start`);
    return model;
}

const ID = JOB.slice(JOB.lastIndexOf("/") + 1);
const listedObjects = { [JOB]: { [JOB_IFACE]: jobProps("queued") } };

const jobNew = () => client.signal(MANAGER_PATH, MANAGER_IFACE, "JobNew", ["0123", JOB]);
const jobRemoved = state => client.signal(MANAGER_PATH, MANAGER_IFACE, "JobRemoved", ["0123", JOB, state]);
const stateChanged = state =>
    client.signal(JOB, "org.freedesktop.DBus.Properties", "PropertiesChanged", [JOB_IFACE, { State: { t: "s", v: state } }, []]);

function expect(cond, what) {
    if (!cond)
        throw new Error(what);
}

// A new job announced, and its first read, not answered yet.
async function newJobBeingRead() {
    const model = await started();
    jobNew();
    return [model, client.take("GetAll")];
}

// A new job whose first read is answered with a state older than a change seen meanwhile:
// the model, and the second read it must make.
async function readRacedByChange() {
    const [model, read] = await newJobBeingRead();
    stateChanged("transferring");
    read.resolve([jobProps("queued")]);
    await settle();
    const again = client.take("GetAll");
    expect(again.path === JOB, "the job was not read again");
    return [model, again];
}

// The job is removed (as state) before the pending read answers with it (in replyState): the
// answer must not bring it back.
async function expectRemovedBeforeReply(model, read, state, replyState, what) {
    jobRemoved(state);
    read.resolve([jobProps(replyState)]);
    await settle();
    expect(!model.jobs.has(JOB), what);
}

const error = name => Object.assign(new Error(name), { name });

const cases = [
    ["the listed jobs come from ListJobsCompact, their paths made of the ids", async () => {
        const model = await started(undefined, async call => {
            const c = await call("ListJobsCompact");
            expect(c.args[0] === true, "the first listing is not of all users");
            c.resolve([[[ID, "name", "download", "queued", 0, 0, 0]]]);
        }, listedObjects);
        expect(model.jobs.get(JOB)?.props.State === "queued", "the listed job is not shown");
        expect(model.allUsers, "all users' jobs are not shown");
    }],
    ["a user without the right lists their own jobs", async () => {
        const model = await started(undefined, async call => {
            (await call("ListJobsCompact")).reject(error("org.freedesktop.DBus.Error.AccessDenied"));
            const c = await call("ListJobsCompact");
            expect(c.args[0] === false, "the second listing is not of the user's own jobs");
            c.resolve([[[ID, "name", "download", "queued", 0, 0, 0]]]);
        }, listedObjects);
        expect(model.jobs.has(JOB) && !model.allUsers, "the user's own job is not shown");
    }],
    ["with more jobs than GetManagedObjects carries, the rows show as listed and a job is read when shown", async () => {
        const OTHER = JOB.slice(0, -4) + "4567";
        const model = new Transfers();
        client = new ScriptedClient();
        const done = model.start();
        client.take("GetAll").resolve([{}]);
        await settle();
        client.take("ListJobsCompact").resolve([[[ID, "name", "download", "queued", 1000, 5, 10],
                                                 [OTHER.slice(OTHER.lastIndexOf("/") + 1), "other", "download",
                                                  "suspended", 1000, 0, 0]]]);
        await settle();
        client.take("GetManagedObjects").reject(error("org.freedesktop.DBus.Error.LimitsExceeded"));
        await done;
        expect(model.status === "ready", `status ${model.status}`);
        expect(client.calls.length === 0, `${client.calls.length} calls after the listing, none expected`);
        const job = model.jobs.get(JOB);
        expect(job?.props.DisplayName === "name" && job.props.State === "queued" && job.props.BytesTotal === 10 &&
               job.props.Owner === 1000, "the listed row is not shown as listed");
        expect([...model.jobs.values()].map(j => j.path).join() === [JOB, OTHER].join(),
               "the rows are not in the listing's order");
        // Its row comes into view: read once, however often the page asks.
        model.need(JOB);
        model.need(JOB);
        const read = client.take("GetAll");
        expect(read.path === JOB && client.calls.length === 0, "the shown job is not read exactly once");
        read.resolve([{ ...jobProps("queued"), WaitReason: { t: "s", v: "max-transfers" } }]);
        await settle();
        expect(model.jobs.get(JOB).props.WaitReason === "max-transfers", "the read job's properties are not shown");
        model.need(JOB);
        expect(client.calls.length === 0, "a job read in full is read again");
    }],
    ["a listed job gone by the time GetManagedObjects answers is not shown", async () => {
        const model = await started(undefined, async call => {
            (await call("ListJobsCompact")).resolve([[[ID, "name", "download", "queued", 0, 0, 0]]]);
        }, {});
        expect(!model.jobs.has(JOB), "a job GetManagedObjects no longer has is shown");
        expect(client.calls.length === 0, "a gone job is read");
    }],
    ["a listed job changed before GetManagedObjects answers keeps the change", async () => {
        const model = new Transfers();
        client = new ScriptedClient();
        const done = model.start();
        client.take("GetAll").resolve([{}]);
        await settle();
        client.take("ListJobsCompact").resolve([[[ID, "name", "download", "queued", 0, 0, 0]]]);
        await settle();
        stateChanged("transferring");
        client.take("GetManagedObjects").reject(error("org.freedesktop.DBus.Error.LimitsExceeded"));
        await done;
        expect(model.jobs.get(JOB)?.props.State === "transferring", "a change after the listing is lost");
    }],
    ["a daemon without ListJobsCompact is listed with ListJobs", async () => {
        const model = await started(undefined, async call => {
            (await call("ListJobsCompact")).reject(error("org.freedesktop.DBus.Error.UnknownMethod"));
            (await call("ListJobs")).resolve([[[ID, "name", "download", "queued", 0, 0, 0, JOB]]]);
        }, listedObjects);
        expect(model.jobs.get(JOB)?.props.State === "queued", "the job listed by ListJobs is not shown");
    }],
    ["a new job is read and shown, and its removal takes it away", async () => {
        const [model, read] = await newJobBeingRead();
        read.resolve([jobProps("queued")]);
        await settle();
        expect(model.jobs.get(JOB)?.props.State === "queued", "the new job is not shown");
        jobRemoved("cancelled");
        expect(!model.jobs.has(JOB), "the removed job is still shown");
    }],
    ["a job removed while it is read is not shown when the read's reply comes", async () => {
        const [model, read] = await newJobBeingRead();
        // The daemon answered while the job was transferred, then completed and removed it;
        // the page handles the removal before the reply.
        await expectRemovedBeforeReply(model, read, "acknowledged", "transferred",
                                       "a removed job came back from an older reply");
        expect(client.calls.length === 0, "a removed job was read again");
    }],
    ["a change seen while a job is read is read again, not lost", async () => {
        const [model, again] = await readRacedByChange();
        again.resolve([jobProps("transferring")]);
        await settle();
        expect(model.jobs.get(JOB)?.props.State === "transferring",
               `the job shows ${model.jobs.get(JOB)?.props.State}, not the newer state`);
        stateChanged("transferred");
        expect(model.jobs.get(JOB).props.State === "transferred", "a later change is not applied");
        expect(client.calls.length === 0, "a shown job is read again on every change");
    }],
    ["a job removed while it is read again leaves the table", async () => {
        const [model, again] = await readRacedByChange();
        await expectRemovedBeforeReply(model, again, "cancelled", "transferring",
                                       "the job came back from the second read");
    }],
    ["a read from before a reconnection leaves the new connection's reads alone", async () => {
        const [model, oldRead] = await newJobBeingRead();
        await started(model);           // xferd went away and came back
        jobNew();
        const read = client.take("GetAll");
        // The old connection's reply ends late; then the job is removed while the new read
        // is on its way.
        oldRead.resolve([jobProps("queued")]);
        await settle();
        await expectRemovedBeforeReply(model, read, "cancelled", "queued",
                                       "a removed job came back: the old read took the new one's marker");
    }],
];

console.log(`1..${cases.length}`);
let failed = 0;
for (const [i, [name, run]] of cases.entries()) {
    try {
        await run();
        console.log(`ok ${i + 1} - ${name}`);
    } catch (ex) {
        failed++;
        console.log(`not ok ${i + 1} - ${name}`);
        console.log(`# ${ex.stack.split("\n").join("\n# ")}`);
    }
}
process.exit(failed ? 1 : 0);
