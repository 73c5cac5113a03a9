// SPDX-License-Identifier: LGPL-2.1-or-later
// The page's model of xferd: the jobs the logged-in user may see, kept up to date from
// xferd's signals (JobNew, JobRemoved, InterfacesAdded/Removed, PropertiesChanged), never
// by polling; and the calls the page makes. Everything goes through cockpit.dbus on the
// system bus, as the logged-in user (or as root when the session has administrative
// access), so xferd's own rules decide what is visible and allowed.

import { unknownSize } from "./format.js";

export const BUS_NAME = "org.xferd.Transfer1";
export const MANAGER_PATH = "/org/xferd/Transfer1";
export const MANAGER_IFACE = "org.xferd.Transfer1.Manager";
export const JOB_IFACE = "org.xferd.Transfer1.Job";
const PROPS_IFACE = "org.freedesktop.DBus.Properties";
const OM_IFACE = "org.freedesktop.DBus.ObjectManager";
export const ERROR_PREFIX = "org.xferd.Transfer1.Error.";
const ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied";
const UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod";
const LIMITS_EXCEEDED = "org.freedesktop.DBus.Error.LimitsExceeded";
// A job's object path is this and its id (the contract's Names).
const JOB_PATH_PREFIX = MANAGER_PATH + "/job/";

// A row of ListJobsCompact (or ListJobs) as the properties it carries.
function rowProps([Id, DisplayName, Type, State, Owner, BytesTransferred, BytesTotal]) {
    return { Id, DisplayName, Type, State, Owner, BytesTransferred, BytesTotal };
}

// cockpit.dbus hands variants over as { t: type, v: value }.
function unwrap(dict) {
    const out = {};
    for (const k in dict)
        out[k] = dict[k] && typeof dict[k] === "object" && "v" in dict[k] ? dict[k].v : dict[k];
    return out;
}

// What went wrong with the bus connection or a call, for a person. The bridge reports
// "not-found" when nobody owns the name and no activation file starts it.
export function problemText(ex) {
    if (ex && ex.problem === "not-found")
        return cockpit.format(cockpit.gettext("$0 is not on the system bus, and D-Bus cannot start it."), BUS_NAME);
    if (ex && ex.problem)
        return cockpit.message(ex);
    return (ex && ex.message) || String(ex);
}

// How fast a job goes: the daemon's Rate property when it has one, else the change of
// BytesTransferred between the last progress signals (reset on every state change, so a
// pause never leaves a stale rate behind).
class RateWindow {
    constructor() {
        this.samples = [];
    }

    reset() {
        this.samples = [];
    }

    add(bytes) {
        const now = performance.now();
        this.samples.push([now, bytes]);
        while (this.samples.length > 2 && now - this.samples[0][0] > 5000)
            this.samples.shift();
    }

    value() {
        if (this.samples.length < 2)
            return null;
        const [t0, b0] = this.samples[0];
        const [t1, b1] = this.samples[this.samples.length - 1];
        if (t1 - t0 < 500 || b1 < b0)
            return null;
        return (b1 - b0) * 1000 / (t1 - t0);
    }
}

export class Transfers extends EventTarget {
    constructor() {
        super();
        // object path → { props, rate: RateWindow, order, partial }: `order` is the place in
        // the listing (oldest first), then of arrival; `partial` while only the job's listed
        // row is known (see need()).
        this.jobs = new Map();
        this.nextOrder = 0;
        this.manager = null;            // Manager properties, once read
        this.allUsers = false;          // ListJobs(true) allowed: root (or admin access)
        this.status = "connecting";     // "connecting", "ready", "unavailable"
        this.problem = null;            // why unavailable
        this.pending = new Map();       // path → promise of a GetAll in flight
        // What arrived while a GetAll was in flight: its reply's handler runs after the
        // signals that came with it, so it must not bring back a removed job nor older values.
        this.goneWhilePending = new Set();
        this.changedWhilePending = new Set();
        this.client = null;
        this.subscriptions = [];
    }

    changed(detail) {
        this.dispatchEvent(new CustomEvent("changed", { detail }));
    }

    announce(message) {
        this.dispatchEvent(new CustomEvent("announce", { detail: message }));
    }

    // Connects, subscribes to the signals first (so nothing between the listing and the
    // subscription is missed), then lists the jobs.
    async start() {
        this.stop();
        this.status = "connecting";
        this.changed();
        // "try": with administrative access the calls are root's (every user's jobs, the
        // Manager settings), else the user's own.
        const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
        this.client = client;
        client.addEventListener("close", (ev, options) => {
            if (this.client !== client)
                return;
            this.fail(problemText(options));
        });
        client.addEventListener("owner", (ev, owner) => {
            // xferd exits when idle and comes back on the next call (D-Bus activation):
            // a new owner has the same jobs, so only its arrival after an absence matters.
            if (this.client === client && owner && this.status === "unavailable")
                this.start();
        });

        const on = (match, handler) =>
            this.subscriptions.push(client.subscribe(match, (path, iface, member, args) => {
                if (this.client === client)
                    handler(path, member, args);
            }));
        on({ path: MANAGER_PATH, interface: MANAGER_IFACE }, (path, member, args) => {
            if (member === "JobNew")
                this.fetchJob(args[1]);
            else if (member === "JobRemoved")
                this.removeJob(args[1], args[2]);
        });
        on({ path: MANAGER_PATH, interface: OM_IFACE }, (path, member, args) => {
            if (member === "InterfacesAdded" && JOB_IFACE in args[1])
                this.fetchJob(args[0], unwrap(args[1][JOB_IFACE]));
            else if (member === "InterfacesRemoved" && args[1].includes(JOB_IFACE))
                this.removeJob(args[0], null);
        });
        on({ path_namespace: MANAGER_PATH, interface: PROPS_IFACE, member: "PropertiesChanged" },
           (path, member, args) => this.propertiesChanged(path, args[0], unwrap(args[1]), args[2]));

        try {
            const [managerProps] = await this.call(client, MANAGER_PATH, PROPS_IFACE, "GetAll", [MANAGER_IFACE]);
            this.manager = unwrap(managerProps);
            let listed;
            try {
                listed = await this.listJobs(client, true);
                this.allUsers = true;
            } catch (ex) {
                if (ex.name !== ACCESS_DENIED)
                    throw ex;
                listed = await this.listJobs(client, false);
                this.allUsers = false;
            }
            if (this.client !== client)
                return;
            // The rows first, so that the signals from here on apply to them.
            for (const { path, props } of listed)
                this.setJob(path, props).partial = true;
            // Every property of every listed job in one call. With more jobs than one D-Bus
            // message carries the daemon refuses it: the rows stay as listed, and a job is
            // read when the page shows it (need()), not every job at once.
            let objects = null;
            try {
                [objects] = await this.call(client, MANAGER_PATH, OM_IFACE, "GetManagedObjects", []);
            } catch (ex) {
                if (ex.name !== LIMITS_EXCEEDED)
                    throw ex;
            }
            if (this.client !== client)
                return;
            for (const { path } of objects ? listed : []) {
                const job = this.jobs.get(path);
                if (!job)
                    continue;
                if (objects[path] && objects[path][JOB_IFACE]) {
                    Object.assign(job.props, unwrap(objects[path][JOB_IFACE]));
                    job.partial = false;
                } else {
                    this.jobs.delete(path);     // gone since the listing
                }
            }
            this.status = "ready";
            this.problem = null;
            this.changed();
        } catch (ex) {
            if (this.client === client)
                this.fail(problemText(ex));
        }
    }

    // The listed jobs, in order, as { path, props } of their rows: ListJobsCompact (rows
    // without their paths, a third less for the bus to carry), or ListJobs from a daemon
    // before it.
    async listJobs(client, allUsers) {
        try {
            const [rows] = await this.call(client, MANAGER_PATH, MANAGER_IFACE, "ListJobsCompact", [allUsers]);
            return rows.map(row => ({ path: JOB_PATH_PREFIX + row[0], props: rowProps(row) }));
        } catch (ex) {
            if (ex.name !== UNKNOWN_METHOD)
                throw ex;
        }
        const [rows] = await this.call(client, MANAGER_PATH, MANAGER_IFACE, "ListJobs", [allUsers]);
        return rows.map(row => ({ path: row[7], props: rowProps(row) }));
    }

    stop() {
        for (const s of this.subscriptions)
            s.remove();
        this.subscriptions = [];
        if (this.client)
            this.client.close();
        this.client = null;
        this.jobs.clear();
        this.pending.clear();
        this.goneWhilePending.clear();
        this.changedWhilePending.clear();
    }

    fail(message) {
        this.status = "unavailable";
        this.problem = message;
        this.jobs.clear();
        this.changed();
    }

    setJob(path, props) {
        let job = this.jobs.get(path);
        if (!job) {
            job = { path, props: {}, rate: new RateWindow(), order: this.nextOrder++, partial: false };
            this.jobs.set(path, job);
        }
        Object.assign(job.props, props);
        job.rate.add(job.props.BytesTransferred || 0);
        return job;
    }

    // A job we have not seen: its properties, if we may read them. Signals are broadcast,
    // so other users' jobs show up here too; xferd answers AccessDenied for those (and
    // their Owner in InterfacesAdded already says so when we see only our own).
    fetchJob(path, announced) {
        if (!path.startsWith(MANAGER_PATH + "/job/") || this.jobs.has(path) || this.pending.has(path))
            return;
        if (!this.allUsers && announced && announced.Owner !== undefined && this.uid !== undefined &&
            announced.Owner !== this.uid)
            return;
        this.readJob(path);
    }

    // The page shows this job (its row came into view, or it was opened): all its properties
    // are read once when only its listed row is known.
    need(path) {
        const job = this.jobs.get(path);
        if (job && job.partial && !this.pending.has(path))
            this.readJob(path);
    }

    // GetAll of one job: a new one, one the page shows (need()), or again a shown one whose
    // signals raced a read.
    readJob(path) {
        const client = this.client;
        const p = this.call(client, path, PROPS_IFACE, "GetAll", [JOB_IFACE])
                .then(([props]) => {
                    if (this.client !== client || this.goneWhilePending.has(path))
                        return;
                    const unwrapped = unwrap(props);
                    const shown = this.jobs.get(path);
                    if (shown) {
                        if (unwrapped.State !== shown.props.State)
                            shown.rate.reset();
                        Object.assign(shown.props, unwrapped);
                        shown.partial = false;
                        shown.rate.add(shown.props.BytesTransferred || 0);
                        this.changed({ path });
                        return;
                    }
                    // A job that is already final (removed before we read it) is not shown.
                    if (unwrapped.State === "cancelled" || unwrapped.State === "acknowledged")
                        return;
                    this.setJob(path, unwrapped);
                    this.changed({ path });
                })
                .catch(ex => {
                    // Not ours (AccessDenied) or gone already (UnknownObject): nothing to show.
                    if (ex.name !== ACCESS_DENIED && !/UnknownObject|UnknownMethod/.test(ex.name || ""))
                        console.warn("xferd: reading", path, "failed:", ex.message);
                    else if (this.client === client && this.jobs.has(path))
                        this.removeJob(path, null);
                })
                .finally(() => {
                    // A read of an earlier connection: the markers are the new one's now.
                    if (this.client !== client)
                        return;
                    this.pending.delete(path);
                    this.goneWhilePending.delete(path);
                    // Signals handled before this reply's handler may be newer than the reply.
                    if (this.changedWhilePending.delete(path) && this.jobs.has(path))
                        this.readJob(path);
                });
        this.pending.set(path, p);
    }

    removeJob(path, finalState) {
        if (this.pending.has(path))
            this.goneWhilePending.add(path);
        const job = this.jobs.get(path);
        if (!job)
            return;
        this.jobs.delete(path);
        if (finalState)
            this.announce({ job, finalState });
        this.changed({ path, removed: true });
    }

    propertiesChanged(path, iface, changed, invalidated) {
        if (path === MANAGER_PATH && iface === MANAGER_IFACE) {
            if (this.manager) {
                Object.assign(this.manager, changed);
                this.changed({ manager: true });
            }
            return;
        }
        if (this.pending.has(path))
            this.changedWhilePending.add(path);
        const job = this.jobs.get(path);
        if (!job || iface !== JOB_IFACE)
            return;
        if ("State" in changed && changed.State !== job.props.State)
            job.rate.reset();
        Object.assign(job.props, changed);
        if ("BytesTransferred" in changed)
            job.rate.add(changed.BytesTransferred);
        this.changed({ path });
        // Names, paths and messages never travel in broadcast signals, only their
        // invalidation: read them again (as the owner or root we may).
        for (const name of invalidated || []) {
            this.call(this.client, path, PROPS_IFACE, "Get", [JOB_IFACE, name])
                    .then(([value]) => {
                        if (this.jobs.get(path) === job) {
                            job.props[name] = value.v;
                            this.changed({ path });
                        }
                    })
                    .catch(ex => console.warn("xferd: reading", name, "of", path, "failed:", ex.message));
        }
    }

    // Bytes per second, or null when not known.
    rateOf(job) {
        if (job.props.State !== "transferring")
            return null;
        if (typeof job.props.Rate === "number")
            return job.props.Rate;
        return job.rate.value();
    }

    // Seconds left, or null.
    timeLeftOf(job) {
        const p = job.props;
        if (typeof p.ExpectedEndTime === "number")
            return p.ExpectedEndTime ? Math.max(0, p.ExpectedEndTime / 1e6 - Date.now() / 1000) : null;
        const r = this.rateOf(job);
        if (!r || unknownSize(p.BytesTotal))
            return null;
        return (p.BytesTotal - p.BytesTransferred) / r;
    }

    // ---------------------------------------------------------------- calls

    // cockpit's own promises, as standard ones (finally, async/await).
    call(client, path, iface, method, args, options) {
        return Promise.resolve(client.call(path, iface, method, args, options));
    }

    jobCall(job, method) {
        return this.call(this.client, job.path, JOB_IFACE, method, []);
    }

    listFiles(job) {
        return this.call(this.client, job.path, JOB_IFACE, "ListFiles", []).then(([files]) => files);
    }

    // options: { priority, checksum } (strings; empty ones are left out).
    download(url, localPath, options) {
        const opts = {};
        for (const key in options) {
            if (options[key])
                opts[key] = cockpit.variant("s", options[key]);
        }
        return this.call(this.client, MANAGER_PATH, MANAGER_IFACE, "Download", [url, localPath, opts],
                                { type: "ssa{sv}" });
    }

    setManagerProperty(name, type, value) {
        return this.call(this.client, MANAGER_PATH, PROPS_IFACE, "Set",
                                [MANAGER_IFACE, name, cockpit.variant(type, value)]);
    }
}
