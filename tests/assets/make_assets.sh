#!/bin/sh
# Rebuilds the fixture videos in this folder with Debian 12's ffmpeg 5.1 (libxvid, libx264, cinepak).
# The tests never run this: the small outputs are committed. See README.md.
set -eu
cd "$(dirname "$0")"
FF="ffmpeg -hide_banner -loglevel error -y"
# Every frame carries its number n = round(t * 25) twice: as text (drawtext) and as an 8-bit bar code
# in the top 12 rows (bit b of n is white or black in columns 12b..12b+11), which the tests read back.
BAR="geq=lum='if(lt(Y\,12)\,if(mod(floor(floor((T+OFS)*25+0.5)/pow(2\,floor(X/12)))\,2)\,235\,16)\,lum(X\,Y))':cb='cb(X\,Y)':cr='cr(X\,Y)'"
TEXT="drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf:text='%{eif\:(t+OFS)*25\:d}':x=30:y=30:fontsize=20:fontcolor=white:box=1:boxcolor=black"
SRC="testsrc=size=96x64:rate=25,format=yuv420p,$TEXT,$BAR"
SRC=$(echo "$SRC" | sed 's/OFS/0/g')
# VFR: 1 s at 25 fps, then a 5 fps picture (numbered from 25 on) repeated to 25 fps; mpdecimate drops the repeats.
A="testsrc=size=96x64:rate=25:duration=1,format=yuv420p,$TEXT,$BAR"
B="testsrc=size=96x64:rate=5:duration=1.6,format=yuv420p,$TEXT,$BAR,fps=25"
VFR="$(echo "$A" | sed 's/OFS/0/g')[a];$(echo "$B" | sed 's/OFS/1/g')[b];[a][b]concat,mpdecimate"

# 1. XviD with B-frames, as HMDB51/UCF101 ship: packed-style N-VOP placeholders, guessed pts out of order.
$FF -f lavfi -i "$SRC" -t 3 -c:v libxvid -bf 2 -g 12 -q:v 10 -vtag XVID xvid_bf.avi
# 2. VFR AVI: 1 s of motion at 25 fps, then 1.6 s of a 5 fps picture repeated to 25 fps, duplicates dropped
#    by mpdecimate. AVI keeps the gaps as empty chunks, so the header claims 61 frames for 33.
$FF -f lavfi -i "$VFR" \
    -fps_mode vfr -c:v libxvid -q:v 10 -vtag XVID vfr_mpdecimate.avi
# 3. The same VFR picture in MP4, where the container keeps each frame's own timestamp.
$FF -f lavfi -i "$VFR" \
    -fps_mode vfr -c:v libx264 -preset veryfast -crf 30 -bf 2 vfr_mpdecimate.mp4
# 4. H.264 with B-frames and an edit list that starts mid-GOP: 13 packets before the cut are decoded as
#    references but never shown (stream copy with -ss keeps them, flagged discard).
$FF -f lavfi -i "$SRC" -t 3 -c:v libx264 -preset veryfast -crf 30 -bf 2 -g 25 /tmp/motionlens_full.mp4
$FF -ss 0.52 -i /tmp/motionlens_full.mp4 -c copy h264_bf_editlist.mp4
# 5. A phone-style rotated MP4: 96x64 stored, display matrix says rotate by 90 degrees (shown 64x96).
$FF -f lavfi -i "$SRC" -t 2 -c:v libx264 -preset veryfast -crf 30 -g 10 /tmp/motionlens_r0.mp4
$FF -i /tmp/motionlens_r0.mp4 -c copy -metadata:s:v:0 rotate=90 rotated90.mp4
# 6. An XviD AVI (header: 100 frames) cut off after its first 9000 bytes, as an interrupted download.
$FF -f lavfi -i "$SRC" -t 4 -c:v libxvid -q:v 10 -g 12 -vtag XVID /tmp/motionlens_full.avi
head -c 9000 /tmp/motionlens_full.avi > truncated.avi
# 7. Cinepak AVI from the VFR picture: the header frame count (61) lies, as in old QuickTime-era files.
$FF -f lavfi -i "$VFR" \
    -fps_mode vfr -c:v cinepak -pix_fmt rgb24 cinepak_vfr.avi
rm -f /tmp/motionlens_full.mp4 /tmp/motionlens_r0.mp4 /tmp/motionlens_full.avi
