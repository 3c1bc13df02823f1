#!/usr/bin/env bash
# Every student of leaderboards/pt-distill, from the teachers' silver (see
# README.md for the annotation commands). Usage:
#   leaderboards/pt-distill/train.sh SILVER_DIR STUDENTS_DIR
# SILVER_DIR holds best/, union/ and majority/ (each `nerbench annotate -o`);
# models go to STUDENTS_DIR/<student>-<data>/seed-N. Idempotent: a model
# folder that already has its student.json is not trained again.
# STUDENTS="crf" (or "spacy") trains one kind only (default: both).
# Start it twice to train two students at once (one per core): a student
# being trained is locked (flock), so the other instance goes on to the next.
set -euo pipefail
silver=${1:?SILVER_DIR}
out=${2:?STUDENTS_DIR}
common=(--gold lener_br:train --dev lener_br:dev --dev-limit 200 --seed 0 --seed 1 --seed 2)

train() {  # train STUDENT NAME ARGS...
  local student=$1 name=$2
  shift 2
  if [ -f "$out/$student-$name/seed-2/student.json" ]; then return; fi
  mkdir -p "$out"
  local code=0
  flock -n -E 75 "$out/$student-$name.lock" nerbench train "$student" "${common[@]}" "$@" -o "$out/$student-$name" \
    || code=$?
  if [ "$code" -ne 0 ] && [ "$code" -ne 75 ]; then return "$code"; fi  # 75: the other instance has it
}

for student in ${STUDENTS:-crf spacy}; do
  for teacher in best union majority; do
    for unlabelled in O missing; do
      train "$student" "silver-$teacher-$unlabelled" --silver "$silver/$teacher/silver.jsonl" --unlabelled "$unlabelled"
    done
  done
  train "$student" gold-same-1000 --like "$silver/union/silver.jsonl"
  train "$student" gold-all
  for k in 50 100 200; do
    for pick in disagreement random; do
      train "$student" "mixed-$k-$pick" --silver "$silver/union/silver.jsonl" --budget "$k" --pick "$pick"
    done
    train "$student" "gold-only-$k" --silver "$silver/union/silver.jsonl" --budget "$k" --pick random --use gold-only
    if [ "$student" = spacy ]; then
      # Patience 3 (epochs) stops a blank spaCy on k <= 200 sentences before its
      # dev F1 leaves 0 (4 epochs of ~k/16 updates), and even 15 epochs leave it
      # rising: these get the updates of 15 epochs on 1,000 sentences, every epoch
      # run, the best on dev kept.
      epochs=$((15000 / k))
      train "$student" "gold-only-$k-same-updates" --silver "$silver/union/silver.jsonl" --budget "$k" --pick random \
        --use gold-only --option "max_epochs=$epochs" --option "patience=$epochs"
      # the CRF cannot continue training from a model
      train "$student" "pretrain-$k" --silver "$silver/union/silver.jsonl" --budget "$k" --pick disagreement \
        --use pretrain
    fi
  done
done
