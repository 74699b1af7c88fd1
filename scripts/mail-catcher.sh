#!/usr/bin/env bash
# Start a local SMTP catcher on 127.0.0.1:1025 (unless something listens there already):
# every email newswatch sends lands as a file in .newswatch/mail/new/.
set -euo pipefail
python="${1:-python3}"
if (exec 3<>/dev/tcp/127.0.0.1/1025) 2>/dev/null; then exit 0; fi
mkdir -p .newswatch/mail/tmp .newswatch/mail/new .newswatch/mail/cur  # a Maildir
nohup "$python" -m aiosmtpd -n -l 127.0.0.1:1025 -c aiosmtpd.handlers.Mailbox .newswatch/mail \
  >.newswatch/mail-catcher.log 2>&1 &
echo "mail catcher: 127.0.0.1:1025 -> .newswatch/mail/new/ (pid $!)" >&2
