// SPDX-License-Identifier: LGPL-2.1-or-later
// The page's modal dialogs: a native <dialog> (focus stays inside, Escape closes it)
// dressed as a PatternFly modal box. "New download" reports the daemon's errors at the
// field they are about; "Cancel download" asks before data is deleted.

import { ERROR_PREFIX } from "./jobs.js";
import * as format from "./format.js";

const _ = cockpit.gettext;

export function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const key in attrs || {}) {
        const value = attrs[key];
        if (value === undefined || value === null || value === false)
            continue;
        if (key === "class")
            node.className = value;
        else if (key.startsWith("on"))
            node.addEventListener(key.slice(2), value);
        else
            node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
        if (child !== undefined && child !== null && child !== false)
            node.append(child instanceof Node ? child : String(child));
    }
    return node;
}

let dialogCount = 0;

// A modal with a title, a body and footer buttons; resolves when it closes.
function modal({ title, body, buttons, variant, describedBy }) {
    const id = "dialog-" + (++dialogCount);
    const dialog = el("dialog", {
        class: "pf-c-modal-box xferd-dialog" + (variant === "small" ? " pf-m-sm" : " pf-m-md"),
        "aria-labelledby": id + "-title",
        "aria-describedby": describedBy,
    },
                      el("header", { class: "pf-c-modal-box__header" },
                         el("h1", { class: "pf-c-modal-box__title", id: id + "-title" }, title)),
                      el("div", { class: "pf-c-modal-box__body" }, body),
                      el("footer", { class: "pf-c-modal-box__footer" }, buttons));
    document.body.append(dialog);
    dialog.addEventListener("close", () => dialog.remove());
    dialog.showModal();
    return dialog;
}

function fieldGroup(id, label, control, help, required) {
    return el("div", { class: "pf-c-form__group" },
              el("div", { class: "pf-c-form__group-label" },
                 el("label", { class: "pf-c-form__label", for: id },
                    el("span", { class: "pf-c-form__label-text" }, label),
                    required ? el("span", { class: "pf-c-form__label-required", "aria-hidden": "true" }, " *") : null)),
              el("div", { class: "pf-c-form__group-control" },
                 control,
                 el("p", { class: "pf-c-form__helper-text", id: id + "-help", "aria-live": "polite" }, help || "")));
}

// Which field an error of Download is about: by its D-Bus error name, else by what its
// message names. null: the whole dialog.
export function fieldOfError(error) {
    const name = error.name || "";
    const message = error.message || "";
    if (name === ERROR_PREFIX + "UnsupportedProtocol")
        return "url";
    if (name === ERROR_PREFIX + "InvalidPath")
        return "path";
    // xferd's messages about URLs say "URL" (and may quote the URL itself, so first).
    if (/\bURL\b/.test(message))
        return "url";
    if (/checksum/i.test(message))
        return "checksum";
    if (/priority/i.test(message))
        return "priority";
    if (/path|directory|file name/i.test(message))
        return "path";
    return null;
}

function basename(url) {
    try {
        const name = decodeURIComponent(new URL(url).pathname.split("/").pop());
        return /^[^/\0]+$/.test(name) && name !== "." && name !== ".." ? name : "";
    } catch (ex) {
        return "";
    }
}

// The "New download" dialog. home: the user's home directory, the default destination.
export function newDownloadDialog(transfers, home, onStarted) {
    const url = el("input", { class: "pf-c-form-control", id: "download-url", type: "text", inputmode: "url",
                              required: true, autocomplete: "off", placeholder: "https://example.org/file.iso",
                              "aria-describedby": "download-url-help" });
    const dir = home ? home.replace(/\/$/, "") + "/" : "/";
    const path = el("input", { class: "pf-c-form-control", id: "download-path", type: "text", required: true,
                               value: dir, autocomplete: "off", "aria-describedby": "download-path-help" });
    const priority = el("select", { class: "pf-c-form-control", id: "download-priority",
                                    "aria-describedby": "download-priority-help" },
                        el("option", { value: "foreground" }, _("Foreground (starts at once)")),
                        el("option", { value: "high" }, _("High")),
                        el("option", { value: "normal", selected: true }, _("Normal")),
                        el("option", { value: "low" }, _("Low")));
    const checksum = el("input", { class: "pf-c-form-control", id: "download-checksum", type: "text",
                                   autocomplete: "off", placeholder: "sha256:…",
                                   "aria-describedby": "download-checksum-help" });
    const fields = { url, path, priority, checksum };
    const helps = {
        url: _("An http:// or https:// URL."),
        path: _("Where the file goes: an absolute path in a directory you may write."),
        priority: _("Background priorities share the bandwidth the settings allow."),
        checksum: _("Optional: the expected SHA-256 or SHA-512 of the file."),
    };
    const general = el("div", { class: "xferd-dialog-error", "aria-live": "assertive" });

    let pathTouched = false;
    path.addEventListener("input", () => { pathTouched = true });
    url.addEventListener("input", () => {
        // Suggest the URL's file name in the default directory until the user edits the path.
        if (!pathTouched)
            path.value = dir + basename(url.value.trim());
    });

    const form = el("form", { class: "pf-c-form", id: "download-form", novalidate: true },
                    general,
                    fieldGroup("download-url", _("URL"), url, helps.url, true),
                    fieldGroup("download-path", _("Destination"), path, helps.path, true),
                    fieldGroup("download-priority", _("Priority"), priority, helps.priority),
                    fieldGroup("download-checksum", _("Checksum"), checksum, helps.checksum));
    const submit = el("button", { class: "pf-c-button pf-m-primary", type: "submit", form: "download-form" },
                      _("Download"));
    const cancel = el("button", { class: "pf-c-button pf-m-link", type: "button" }, _("Cancel"));
    const dialog = modal({ title: _("New download"), body: form, buttons: [submit, cancel] });
    cancel.addEventListener("click", () => dialog.close());

    function clearErrors() {
        general.replaceChildren();
        for (const key in fields) {
            fields[key].removeAttribute("aria-invalid");
            const help = document.getElementById(fields[key].id + "-help");
            help.textContent = helps[key];
            help.classList.remove("pf-m-error");
        }
    }

    function showError(key, message) {
        if (!key) {
            general.replaceChildren(el("div", { class: "pf-c-alert pf-m-danger pf-m-inline", role: "alert" },
                                       el("p", { class: "pf-c-alert__title" }, message)));
            return;
        }
        const help = document.getElementById(fields[key].id + "-help");
        help.textContent = message;
        help.classList.add("pf-m-error");
        fields[key].setAttribute("aria-invalid", "true");
        fields[key].focus();
    }

    form.addEventListener("submit", ev => {
        ev.preventDefault();
        clearErrors();
        if (!url.value.trim()) {
            showError("url", _("Enter the URL to download."));
            return;
        }
        if (!path.value.trim()) {
            showError("path", _("Enter where the file goes."));
            return;
        }
        submit.disabled = true;
        submit.classList.add("pf-m-progress", "pf-m-in-progress");
        transfers.download(url.value.trim(), path.value.trim(),
                           { priority: priority.value === "normal" ? "" : priority.value, checksum: checksum.value.trim() })
                .then(([id, jobPath]) => {
                    dialog.close();
                    onStarted(jobPath);
                })
                .catch(ex => {
                    let message = ex.message || String(ex);
                    const key = fieldOfError(ex);
                    // An xferd without checksums says "Unknown option 'checksum'".
                    if (key === "checksum" && /unknown option/i.test(message))
                        message = cockpit.format(_("This version of xferd does not verify checksums ($0)."), message);
                    showError(key, message);
                })
                .finally(() => {
                    submit.disabled = false;
                    submit.classList.remove("pf-m-progress", "pf-m-in-progress");
                });
    });
    url.focus();
    return dialog;
}

// Asks before Cancel: the downloaded data is deleted. Resolves true to go ahead.
export function confirmCancel(job) {
    return new Promise(resolve => {
        const p = job.props;
        const size = format.bytes(p.BytesTransferred || 0);
        const text = el("p", { id: "confirm-cancel-text" },
                        cockpit.format(_("Cancel “$0”? Its downloaded data ($1) is deleted, and the job cannot be resumed."),
                                       p.DisplayName || p.Id, size));
        const yes = el("button", { class: "pf-c-button pf-m-danger", type: "button", id: "confirm-cancel" },
                       _("Cancel and delete data"));
        const no = el("button", { class: "pf-c-button pf-m-link", type: "button", id: "keep-job" }, _("Keep it"));
        const dialog = modal({
            title: _("Cancel this transfer?"), body: text, buttons: [yes, no],
            variant: "small", describedBy: "confirm-cancel-text",
        });
        let answer = false;
        yes.addEventListener("click", () => { answer = true; dialog.close() });
        no.addEventListener("click", () => dialog.close());
        dialog.addEventListener("close", () => resolve(answer));
        no.focus();
    });
}
