// SPDX-License-Identifier: LGPL-2.1-or-later
// The "Transfers" page: xferd's jobs in a table that follows the daemon's signals, a
// job's files on demand, the job actions, "New download", and for root the Manager's
// settings. Rows are keyed by job and updated in place, so keyboard focus stays where it
// is; a change of one job touches its row only, and only what differs in it, so that a
// table of thousands of jobs follows their progress signals.

import { Transfers } from "./jobs.js";
import { el, newDownloadDialog, confirmCancel } from "./dialogs.js";
import * as format from "./format.js";

const _ = cockpit.gettext;
const SVG_NS = "http://www.w3.org/2000/svg";

const transfers = new Transfers();
const rows = new Map();            // job path → { tbody, cells…, expanded, filesShownAt }
let user = null;                   // cockpit.user()
const userNames = new Map();       // uid → login name (root: from /etc/passwd)

const $ = id => document.getElementById(id);

// Writes only what differs: an unchanged row is not touched at all.
function setText(node, text) {
    if (node.textContent !== text)
        node.textContent = text;
}

function setAttr(node, name, value) {
    if (node.getAttribute(name) !== value)
        node.setAttribute(name, value);
}

// Through the style object: the page's policy allows no inline style attribute.
function setWidth(node, width) {
    if (node.style.width !== width)
        node.style.width = width;
}

// ------------------------------------------------------------------ messages

function showAlert(message) {
    const close = el("button", { class: "pf-c-button pf-m-plain", type: "button", "aria-label": _("Dismiss") }, "×");
    const alert = el("div", { class: "pf-c-alert pf-m-danger pf-m-inline xferd-alert", role: "alert" },
                     el("p", { class: "pf-c-alert__title" }, message),
                     el("div", { class: "pf-c-alert__action" }, close));
    close.addEventListener("click", () => alert.remove());
    $("alerts").append(alert);
}

function announce(message) {
    // Replaced, not appended: screen readers read each new text once.
    $("announcer").textContent = message;
}

function jobName(job) {
    return job.props.DisplayName || job.props.Id || job.path.split("/").pop();
}

function ownerName(uid) {
    if (uid === undefined)
        return "";
    if (user && uid === user.id)
        return user.name;
    return userNames.get(uid) || cockpit.format(_("uid $0"), uid);
}

// The login names of the machine's users, for root's view of everyone's jobs.
function loadUserNames() {
    return Promise.resolve(cockpit.file("/etc/passwd").read())
            .then(content => {
                for (const line of (content || "").split("\n")) {
                    const fields = line.split(":");
                    if (fields.length > 2)
                        userNames.set(Number(fields[2]), fields[0]);
                }
                render();
            })
            .catch(ex => console.warn("xferd: cannot read /etc/passwd:", ex.message));
}

// ------------------------------------------------------------------- actions

function run(job, method, verb) {
    return transfers.jobCall(job, method).catch(ex => {
        showAlert(cockpit.format(_("Could not $0 “$1”: $2"), verb, jobName(job), ex.message || String(ex)));
    });
}

function actionsFor(state) {
    const actions = [];
    if (["suspended", "error", "transient-error"].includes(state))
        actions.push(["Resume", _("Resume"), _("resume")]);
    if (["queued", "connecting", "transferring", "transient-error"].includes(state))
        actions.push(["Suspend", _("Suspend"), _("suspend")]);
    if (state === "transferred")
        actions.push(["Complete", _("Complete"), _("complete")]);
    if (state !== "acknowledged" && state !== "cancelled")
        actions.push(["Cancel", _("Cancel"), _("cancel")]);
    return actions;
}

function renderActions(entry, job) {
    const state = job.props.State;
    const key = state + "|" + jobName(job);
    if (entry.actionsKey === key)
        return;
    entry.actionsKey = key;
    const hadFocus = entry.actions.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const buttons = actionsFor(state).map(([method, label, verb]) => {
        const button = el("button", {
            class: "pf-c-button pf-m-small " + (method === "Cancel" ? "pf-m-secondary pf-m-danger" : "pf-m-secondary"),
            type: "button",
            "data-action": method,
            "aria-label": cockpit.format("$0 “$1”", label, jobName(job)),
        }, label);
        button.addEventListener("click", () => {
            const current = transfers.jobs.get(job.path) || job;
            if (method === "Cancel") {
                confirmCancel(current).then(yes => {
                    if (yes)
                        run(current, "Cancel", verb);
                    else
                        button.focus();
                });
            } else {
                run(current, method, verb);
            }
        });
        return button;
    });
    entry.actions.replaceChildren(el("div", { class: "xferd-action-buttons" }, buttons));
    // Suspend becomes Resume under the same finger: keep the focus on the row's actions.
    if (hadFocus) {
        const again = entry.actions.querySelector("button[data-action='" + hadFocus + "']") ||
                      entry.actions.querySelector("button");
        if (again)
            again.focus();
    }
}

// ------------------------------------------------------------------- the rows

function chevron() {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "xferd-chevron");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", "M6 3l5 5-5 5");
    svg.append(path);
    return svg;
}

const STATE_COLORS = {
    transferring: "pf-m-blue",
    connecting: "pf-m-blue",
    queued: "pf-m-cyan",
    suspended: "pf-m-grey",
    transferred: "pf-m-green",
    acknowledged: "pf-m-green",
    "transient-error": "pf-m-orange",
    error: "pf-m-red",
    cancelled: "pf-m-grey",
};

// A job known only by its listed row (more jobs than GetManagedObjects carries) is read
// when its row comes into view.
const inView = new IntersectionObserver(entries => {
    for (const e of entries) {
        if (e.isIntersecting)
            transfers.need(e.target.closest("tbody").dataset.path);
    }
});

function createRow(job) {
    const id = job.props.Id || job.path.split("/").pop();
    const entry = { expanded: false, filesShownAt: 0, actionsKey: null };
    entry.toggle = el("button", { class: "pf-c-button pf-m-plain", type: "button", "aria-expanded": "false",
                                  "aria-controls": "detail-" + id, "data-action": "details" }, chevron());
    entry.name = el("th", { scope: "row", "data-label": _("Name"), class: "xferd-name" });
    entry.owner = el("td", { "data-label": _("Owner"), class: "xferd-owner-column" });
    entry.stateText = el("span", { class: "pf-c-label__content" });
    entry.stateLabel = el("span", { class: "pf-c-label pf-m-compact" }, entry.stateText);
    entry.bar = el("div", { class: "xferd-progress__bar" });
    entry.progress = el("div", { class: "xferd-progress", role: "progressbar", "aria-valuemin": "0",
                                 "aria-valuemax": "100" }, entry.bar);
    entry.progressText = el("span", { class: "xferd-progress__text" });
    entry.rate = el("td", { "data-label": _("Rate"), class: "xferd-rate" });
    entry.left = el("td", { "data-label": _("Time left"), class: "xferd-left" });
    entry.details = el("td", { "data-label": _("Details"), class: "xferd-details" });
    entry.actions = el("td", { class: "xferd-actions" });
    entry.row = el("tr", { class: "xferd-job" },
                   el("td", { class: "pf-c-table__toggle" }, entry.toggle),
                   entry.name, entry.owner,
                   el("td", { "data-label": _("State"), class: "xferd-state" }, entry.stateLabel),
                   el("td", { "data-label": _("Progress"), class: "xferd-progress-column" },
                      el("div", { class: "xferd-progress-cell" }, entry.progress, entry.progressText)),
                   entry.rate, entry.left, entry.details, entry.actions);
    entry.panel = el("div", { class: "pf-c-table__expandable-row-content xferd-panel" });
    entry.detailRow = el("tr", { class: "pf-c-table__expandable-row", id: "detail-" + id, hidden: true },
                         el("td", { colspan: "9" }, entry.panel));
    entry.tbody = el("tbody", { role: "rowgroup", "data-path": job.path, "data-id": id }, entry.row, entry.detailRow);
    entry.toggle.addEventListener("click", () => {
        entry.expanded = !entry.expanded;
        entry.toggle.setAttribute("aria-expanded", String(entry.expanded));
        entry.toggle.classList.toggle("pf-m-expanded", entry.expanded);
        entry.tbody.classList.toggle("pf-m-expanded", entry.expanded);
        entry.detailRow.classList.toggle("pf-m-expanded", entry.expanded);
        entry.detailRow.hidden = !entry.expanded;
        if (entry.expanded) {
            transfers.need(job.path);
            showFiles(entry, transfers.jobs.get(job.path));
        }
    });
    inView.observe(entry.row);
    return entry;
}

function detailsText(job) {
    const p = job.props;
    if (p.State === "error" || p.State === "transient-error") {
        const message = p.ErrorMessage || p.ErrorName || "";
        if (p.State === "transient-error" && p.NextRetryTime)
            return cockpit.format(_("$0 (next try at $1)"), message, new Date(p.NextRetryTime / 1000).toLocaleTimeString());
        return message;
    }
    if (p.WaitReason && p.State !== "transferring" && p.State !== "suspended")
        return format.waitReason(p.WaitReason);
    if (p.State === "queued")
        return _("Waiting to start");
    if (p.State === "transferred")
        return p.AutoComplete ? _("Completing") : _("Ready: complete it to move the files into place");
    if (p.FilesTotal > 1)
        return cockpit.format(_("$0 of $1 files"), p.FilesTransferred || 0, p.FilesTotal);
    return "";
}

function updateRow(entry, job) {
    const p = job.props;
    const name = jobName(job);
    setText(entry.name, name);
    setAttr(entry.toggle, "aria-label", cockpit.format(_("Details of “$0”"), name));
    setText(entry.owner, ownerName(p.Owner));
    setText(entry.stateText, format.stateLabel(p.State));
    setAttr(entry.stateLabel, "class", "pf-c-label pf-m-compact " + (STATE_COLORS[p.State] || ""));
    setAttr(entry.tbody, "data-state", p.State || "");

    const pct = format.percent(p.BytesTransferred || 0, p.BytesTotal);
    setAttr(entry.progress, "aria-label", cockpit.format(_("Progress of “$0”"), name));
    if (pct === null) {
        if (entry.progress.hasAttribute("aria-valuenow"))
            entry.progress.removeAttribute("aria-valuenow");
        setAttr(entry.progress, "aria-valuetext", cockpit.format(_("$0 so far"), format.bytes(p.BytesTransferred || 0)));
        setWidth(entry.bar, "0px");
        setText(entry.progressText, format.bytes(p.BytesTransferred || 0));
    } else {
        const text = cockpit.format(_("$0 % · $1 of $2"), pct, format.bytes(p.BytesTransferred || 0),
                                    format.bytes(p.BytesTotal));
        setAttr(entry.progress, "aria-valuenow", String(pct));
        setAttr(entry.progress, "aria-valuetext", text);
        setWidth(entry.bar, pct + "%");
        setText(entry.progressText, text);
    }
    setAttr(entry.tbody, "data-bytes", String(p.BytesTransferred || 0));
    entry.progress.classList.toggle("pf-m-danger", p.State === "error");
    entry.progress.classList.toggle("pf-m-success", p.State === "transferred");

    const r = transfers.rateOf(job);
    setText(entry.rate, r === null ? "" : format.rate(r));
    const left = transfers.timeLeftOf(job);
    setText(entry.left, left === null ? "" : format.duration(left));
    setText(entry.details, detailsText(job));
    entry.details.classList.toggle("xferd-error-text", p.State === "error");
    renderActions(entry, job);

    if (entry.expanded) {
        const fileChange = entry.filesState !== p.State + "|" + p.FilesTransferred + "|" + p.FilesTotal;
        if (fileChange || performance.now() - entry.filesShownAt > 2000)
            showFiles(entry, job);
    }
}

function describe(job) {
    const p = job.props;
    const items = [
        [_("Id"), p.Id],
        [_("Type"), p.Type],
        [_("Priority"), p.Priority],
        [_("Created"), format.time(p.CreationTime)],
        [_("Files"), cockpit.format(_("$0 of $1 transferred"), p.FilesTransferred || 0, p.FilesTotal || 0)],
        [_("Auto-complete"), p.AutoComplete ? _("yes") : _("no")],
        [_("Files at once"), p.MaxConcurrentFiles > 1 ? String(p.MaxConcurrentFiles) : ""],
        // Background jobs wait out metered networks by default: say so, it explains a wait.
        [_("Networks"), { unmetered: _("unmetered only"), always: _("any, metered too") }[p.CostPolicy] || ""],
        [_("Description"), p.Description],
        [_("Error"), p.ErrorName ? p.ErrorName.replace(/^org\.xferd\.Transfer1\.Error\./, "") + ": " + (p.ErrorMessage || "") : ""],
        [_("Errors so far"), p.ErrorCount ? String(p.ErrorCount) : ""],
    ].filter(([, value]) => value);
    return el("dl", { class: "pf-c-description-list pf-m-horizontal pf-m-compact xferd-description" },
              items.map(([term, value]) => el("div", { class: "pf-c-description-list__group" },
                                               el("dt", { class: "pf-c-description-list__term" }, term),
                                               el("dd", { class: "pf-c-description-list__description" }, value))));
}

function showFiles(entry, job) {
    if (!job)
        return;
    const p = job.props;
    entry.filesState = p.State + "|" + p.FilesTransferred + "|" + p.FilesTotal;
    entry.filesShownAt = performance.now();
    transfers.listFiles(job)
            .then(files => {
                const table = el("table", { class: "pf-c-table pf-m-compact pf-m-no-border-rows xferd-files",
                                            "aria-label": cockpit.format(_("Files of “$0”"), jobName(job)) },
                                 el("thead", null, el("tr", null,
                                                      el("th", { scope: "col" }, _("URL")),
                                                      el("th", { scope: "col" }, _("Destination")),
                                                      el("th", { scope: "col" }, _("Temporary file")),
                                                      el("th", { scope: "col" }, _("Size")),
                                                      el("th", { scope: "col" }, _("Done")))),
                                 el("tbody", null, files.map(([url, local, temp, total, done, completed]) =>
                                     el("tr", { class: "xferd-file" },
                                        el("td", { "data-label": _("URL"), class: "xferd-url" }, url),
                                        el("td", { "data-label": _("Destination") }, local),
                                        el("td", { "data-label": _("Temporary file"), class: "xferd-temp" }, temp),
                                        el("td", { "data-label": _("Size") },
                                           cockpit.format(_("$0 of $1"), format.bytes(done), format.bytes(total))),
                                        el("td", { "data-label": _("Done") }, completed ? _("yes") : _("no"))))));
                entry.panel.replaceChildren(describe(job), table);
            })
            .catch(ex => {
                entry.panel.replaceChildren(describe(job),
                                            el("p", { class: "xferd-error-text", role: "alert" },
                                               cockpit.format(_("Cannot list the files: $0"), ex.message || String(ex))));
            });
}

// ------------------------------------------------------------------ the page

function setEmpty(title, body, action) {
    $("empty-title").textContent = title;
    $("empty-body").replaceChildren(...(Array.isArray(body) ? body : [body]));
    const button = $("empty-action");
    button.hidden = !action;
    if (action) {
        button.textContent = action.label;
        button.onclick = action.run;
    }
}

function openNewDownload() {
    newDownloadDialog(transfers, user ? user.home : "/", jobPath => {
        announce(_("Download started."));
        const entry = rows.get(jobPath);
        if (entry)
            entry.toggle.focus();
    });
}

// Whether the table shows the model's jobs as of the last whole render().
let shown = false;

function render() {
    const table = $("jobs");
    const empty = $("empty");
    shown = transfers.status === "ready";
    $("new-download").disabled = transfers.status !== "ready";
    $("page-subtitle").textContent = transfers.allUsers
        ? _("Background transfers of xferd, for every user of this machine.")
        : _("Your background transfers with xferd.");

    if (transfers.status !== "ready") {
        for (const entry of rows.values()) {
            inView.unobserve(entry.row);
            entry.tbody.remove();
        }
        rows.clear();
        table.hidden = true;
        empty.hidden = false;
        $("settings").hidden = true;
        if (transfers.status === "connecting") {
            setEmpty(_("Loading…"), el("span", { class: "pf-c-spinner pf-m-lg", role: "progressbar",
                                                 "aria-label": _("Loading transfers") },
                                      el("span", { class: "pf-c-spinner__clipper" }),
                                      el("span", { class: "pf-c-spinner__lead-ball" }),
                                      el("span", { class: "pf-c-spinner__tail-ball" })));
        } else {
            setEmpty(_("xferd is not available"),
                     [el("p", { class: "xferd-problem" }, transfers.problem || ""),
                      el("p", null, _("Is the xferd package installed? The transfer service starts by itself on the first request."))],
                     { label: _("Try again"), run: () => transfers.start() });
        }
        return;
    }

    // Rows: add new ones in creation order (the listing's, then arrival), update all, drop
    // the gone.
    const jobs = [...transfers.jobs.values()].sort((a, b) => a.order - b.order);
    for (const path of [...rows.keys()]) {
        if (!transfers.jobs.has(path))
            dropRow(path);
    }
    let previous = table.tHead;
    for (const job of jobs) {
        let entry = rows.get(job.path);
        if (!entry) {
            entry = createRow(job);
            rows.set(job.path, entry);
        }
        if (previous.nextSibling !== entry.tbody)
            previous.after(entry.tbody);
        previous = entry.tbody;
        updateRow(entry, job);
    }
    showTableOrEmpty();
    renderSettings();
}

function dropRow(path) {
    const entry = rows.get(path);
    const hadFocus = entry.tbody.contains(document.activeElement);
    inView.unobserve(entry.row);
    entry.tbody.remove();
    rows.delete(path);
    if (hadFocus)
        $("new-download").focus();
}

function showTableOrEmpty() {
    const table = $("jobs");
    const empty = $("empty");
    const none = rows.size === 0;
    if (!none && !table.hidden && empty.hidden)
        return;
    table.hidden = none;
    empty.hidden = !none;
    if (none) {
        setEmpty(_("No transfers"),
                 el("p", null, transfers.allUsers
                     ? _("No user has a transfer that is not finished.")
                     : _("Downloads you start here or with xferctl show up here until they are done.")),
                 { label: _("New download"), run: openNewDownload });
    }
}

// One job changed, arrived or went: its row only. A new job goes before the first row of a
// later one (in practice it is the latest and goes last).
function renderJob(path) {
    const job = transfers.jobs.get(path);
    let entry = rows.get(path);
    if (!job) {
        if (entry) {
            dropRow(path);
            showTableOrEmpty();
        }
        return;
    }
    if (!entry) {
        entry = createRow(job);
        rows.set(path, entry);
        const table = $("jobs");
        const later = [...table.tBodies].find(tbody => {
            const other = transfers.jobs.get(tbody.dataset.path);
            return other && other.order > job.order;
        });
        table.insertBefore(entry.tbody, later || null);
        showTableOrEmpty();
    }
    updateRow(entry, job);
}

// What the model says changed: one job (its path), the Manager's settings, or everything
// (no detail: connected, listed, lost), which a page that is not showing the jobs also
// redraws whole.
function onChanged(detail) {
    if (!detail || transfers.status !== "ready" || !shown)
        render();
    else if (detail.manager)
        renderSettings();
    else
        renderJob(detail.path);
}

// --------------------------------------------------------- Manager settings

let settingsDirty = false;

function renderSettings() {
    const card = $("settings");
    const m = transfers.manager;
    card.hidden = !(transfers.allUsers && m);
    if (card.hidden || settingsDirty)
        return;
    $("max-transfers").value = m.MaxBackgroundTransfers;
    $("bandwidth-limit").value = m.BackgroundBandwidthLimit;
    $("bandwidth-limit-help").textContent = m.BackgroundBandwidthLimit
        ? cockpit.format(_("BackgroundBandwidthLimit; now $0. 0 means no limit."), format.rate(m.BackgroundBandwidthLimit))
        : _("BackgroundBandwidthLimit; 0 means no limit.");
}

function setupSettings() {
    const max = $("max-transfers");
    const limit = $("bandwidth-limit");
    for (const input of [max, limit])
        input.addEventListener("input", () => { settingsDirty = true });

    function fieldError(input, message) {
        const help = $(input.id + "-help");
        help.textContent = message;
        help.classList.add("pf-m-error");
        input.setAttribute("aria-invalid", "true");
        input.focus();
    }

    $("settings-form").addEventListener("submit", async ev => {
        ev.preventDefault();
        for (const input of [max, limit]) {
            input.removeAttribute("aria-invalid");
            $(input.id + "-help").classList.remove("pf-m-error");
        }
        const m = transfers.manager;
        const wanted = [[max, "MaxBackgroundTransfers", "u"], [limit, "BackgroundBandwidthLimit", "t"]];
        for (const [input, name, type] of wanted) {
            if (!/^\d+$/.test(input.value.trim())) {
                fieldError(input, _("Enter a whole number."));
                return;
            }
            const value = Number(input.value.trim());
            if (value === m[name])
                continue;
            try {
                await transfers.setManagerProperty(name, type, value);
                m[name] = value;
            } catch (ex) {
                fieldError(input, ex.message || String(ex));
                return;
            }
        }
        settingsDirty = false;
        renderSettings();
        announce(_("Settings applied."));
    });
}

// ----------------------------------------------------------------------- start

transfers.addEventListener("changed", ev => onChanged(ev.detail));
transfers.addEventListener("announce", ev => {
    const { job, finalState } = ev.detail;
    announce(cockpit.format(finalState === "cancelled" ? _("“$0” was cancelled.") : _("“$0” is done ($1)."),
                            jobName(job), format.stateLabel(finalState)));
});
$("new-download").addEventListener("click", openNewDownload);
setupSettings();

Promise.resolve(cockpit.user())
        .then(u => { user = u })
        .catch(ex => console.warn("xferd: cannot tell the user:", ex.message))
        .finally(() => {
            transfers.uid = user ? user.id : undefined;
            transfers.start().then(() => {
                if (transfers.allUsers)
                    loadUserNames();
            });
            render();
        });
