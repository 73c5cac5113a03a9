// SPDX-License-Identifier: LGPL-2.1-or-later
// Pure formatting of xferd's values for the page: sizes, rates, durations, states.
// No DOM and no D-Bus here.

const _ = cockpit.gettext;

// BytesTotal is UINT64_MAX while unknown; it arrives as -1 or as a rounded huge number.
export const UNKNOWN_SIZE = 2 ** 63;

export function unknownSize(n) {
    return n === undefined || n === null || n < 0 || n >= UNKNOWN_SIZE;
}

export function bytes(n) {
    if (unknownSize(n))
        return _("unknown");
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[i];
}

export function rate(bytesPerSecond) {
    return bytes(Math.round(bytesPerSecond)) + "/s";
}

export function duration(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0)
        return "";
    seconds = Math.round(seconds);
    if (seconds < 60)
        return cockpit.format(_("$0 s"), seconds);
    const m = Math.floor(seconds / 60);
    if (m < 60)
        return cockpit.format(_("$0 min $1 s"), m, seconds % 60);
    const h = Math.floor(m / 60);
    if (h < 48)
        return cockpit.format(_("$0 h $1 min"), h, m % 60);
    return cockpit.format(_("$0 days"), Math.floor(h / 24));
}

// Whole percent, or null when the total is not known (yet).
export function percent(transferred, total) {
    if (unknownSize(total))
        return null;
    if (total === 0)
        return 0;
    return Math.min(100, Math.floor(transferred * 100 / total));
}

const STATES = {
    queued: _("Queued"),
    connecting: _("Connecting"),
    transferring: _("Transferring"),
    suspended: _("Suspended"),
    error: _("Failed"),
    "transient-error": _("Retrying"),
    transferred: _("Transferred"),
    acknowledged: _("Completed"),
    cancelled: _("Cancelled"),
};

export function stateLabel(state) {
    return STATES[state] || state || _("unknown");
}

// Tokens of the daemon's WaitReason property (once it has one).
const WAIT_REASONS = {
    "max-transfers": _("Waiting for a free transfer slot"),
    "higher-priority": _("Waiting for jobs of higher priority"),
    "retry-delay": _("Waiting to retry"),
    "no-network": _("Waiting for the network"),
    "bandwidth-limit": _("Limited by the bandwidth limit"),
    suspended: _("Suspended"),
};

export function waitReason(token) {
    return WAIT_REASONS[token] || token;
}

// µs since the epoch (the daemon's times) to a local date and time; "" for 0.
export function time(usec) {
    if (!usec)
        return "";
    return new Date(usec / 1000).toLocaleString();
}
