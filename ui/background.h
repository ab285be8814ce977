#pragma once

#include "core/util/cancel.h"

#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QThread>

#include <atomic>
#include <memory>
#include <utility>

namespace tunebench {

// The thread of an owner's background job and its stop flag. Destroying it (with its owner) stops
// the job where it can be stopped (core work checks throwIfStopped, core/util/cancel.h) and waits
// for it: a window closes without waiting for a data load or an evaluation to run to its end.
class BackgroundSlot
{
public:
  BackgroundSlot() = default;
  BackgroundSlot(const BackgroundSlot &) = delete;
  BackgroundSlot &operator=(const BackgroundSlot &) = delete;
  ~BackgroundSlot() { stopAndWait(); }

  bool running() const { return m_thread && m_thread->isRunning(); }
  void wait()
  {
    if (m_thread)
      m_thread->wait();
  }
  void stopAndWait()
  {
    if (m_stop)
      m_stop->store(true);
    wait();
  }

private:
  template <typename Work, typename Done>
  friend void runInBackground(QObject *owner, BackgroundSlot &slot, Work work, Done done);
  QPointer<QThread> m_thread;
  std::shared_ptr<std::atomic<bool>> m_stop;
};

// Runs work() on a new thread, then done(result) on owner's thread (skipped when owner is gone).
// A previous job in `slot` is waited for first (its result was already delivered or is about to
// be). work returns a std::shared_ptr and must not throw (a stopped job's Stopped is an exception
// like any other to it; its result is not delivered, the owner being gone).
template <typename Work, typename Done>
void runInBackground(QObject *owner, BackgroundSlot &slot, Work work, Done done)
{
  slot.wait();
  QPointer<QObject> guard(owner);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  QThread *thread = QThread::create([guard, stop, work = std::move(work), done = std::move(done)]() mutable {
    StopScope scope(stop.get());
    auto result = work();
    if (guard)
      QMetaObject::invokeMethod(guard.data(), [guard, result, done]() mutable {
        if (guard)
          done(result);
      }, Qt::QueuedConnection);
  });
  QObject::connect(thread, &QThread::finished, thread, &QObject::deleteLater);
  slot.m_thread = thread;
  slot.m_stop = std::move(stop);
  thread->start();
}

} // namespace tunebench
